#include "nfb/offload/channel.h"

#include <sys/un.h>

#include <cerrno>
#include <string>
#include <utility>

#include "vchan_connect.h"

namespace nfb::offload::proto {

Status ParseChannel(std::string_view text, ChannelAddress* out) {
  ChannelAddress a;
  if (text.substr(0, kVchanPrefix.size()) == kVchanPrefix) {
    a.kind = ChannelAddress::Kind::kVchan;
    a.name = std::string(text.substr(kVchanPrefix.size()));
    if (a.name.empty()) a.name = kDefaultVchanPath;
    if (a.name.size() > kMaxVchanPathSize) {
      return Status::Error(EINVAL, "vchan path '" + a.name + "' is longer than " +
                                       std::to_string(kMaxVchanPathSize) + " bytes");
    }
    // XenStore's path characters; nothing that could change the meaning of the path.
    for (const char c : a.name) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '/' || c == '_' || c == '-' || c == '@';
      if (!ok) {
        return Status::Error(EINVAL,
                             "vchan path '" + a.name + "' may only use A-Z a-z 0-9 / _ - @");
      }
    }
    if (a.name.find("//") != std::string::npos || a.name.back() == '/') {
      return Status::Error(EINVAL, "vchan path '" + a.name + "' is not a XenStore path");
    }
  } else {
    a.kind = ChannelAddress::Kind::kAbstractSocket;
    a.name = !text.empty() && text.front() == '@' ? std::string(text.substr(1)) : std::string(text);
    if (a.name.empty()) return Status::Error(EINVAL, "the channel name is empty");
    if (a.name.size() + 1 > sizeof(sockaddr_un::sun_path)) {
      return Status::Error(EINVAL, "channel name '" + a.name + "' is longer than " +
                                       std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                                       " bytes");
    }
  }
  *out = std::move(a);
  return Status::Ok();
}

std::string DescribeChannel(const ChannelAddress& address) {
  return address.kind == ChannelAddress::Kind::kVchan ? std::string(kVchanPrefix) + address.name
                                                      : "@" + address.name;
}

Status ConnectChannel(const ChannelAddress& address, BlockingClient* client) {
  client->Close();
  if (address.kind == ChannelAddress::Kind::kAbstractSocket) {
    return client->ConnectAbstract(address.name);
  }
  std::unique_ptr<ClientStream> stream;
  Status s = internal::ConnectVchan(address.name, &stream);
  if (!s.ok()) {
    s.message = DescribeChannel(address) + ": " + s.message;
    return s;
  }
  *client = BlockingClient(std::move(stream));
  return Status::Ok();
}

Status ConnectDefaultChannel(BlockingClient* client, ChannelAddress* used) {
  const ChannelAddress unix_socket{ChannelAddress::Kind::kAbstractSocket, kDefaultSocketName};
  if (used != nullptr) *used = unix_socket;
  Status s = ConnectChannel(unix_socket, client);
  if (s.ok() || s.code != -ECONNREFUSED || !VchanClientAvailable() ||
      !internal::XenStoreReachable()) {
    return s;
  }
  ChannelAddress vchan{ChannelAddress::Kind::kVchan, kDefaultVchanPath};
  if (used != nullptr) *used = vchan;
  Status v = ConnectChannel(vchan, client);
  if (!v.ok()) {
    v.message = "no bpfd at @" + unix_socket.name + " (" + s.message + "), nor " + v.message;
  }
  return v;
}

}  // namespace nfb::offload::proto
