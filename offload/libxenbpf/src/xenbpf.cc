// libxenbpf: the C ABI over the XenBPF protocol (offload/protocol). Every exported function
// catches everything: no exception may cross into C callers. docs/libxenbpf.md documents the API.
#include "xenbpf/xenbpf.h"

#include <fmt/core.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "nfb/offload/channel.h"
#include "nfb/offload/client.h"
#include "nfb/offload/protocol.h"

namespace proto = nfb::offload::proto;

// The header restates the protocol's limits for C users; keep them from drifting apart.
static_assert(XENBPF_MAX_OBJECT_SIZE == proto::kMaxObjectSize);
static_assert(XENBPF_MAX_INSNS == proto::kMaxInstructions);
static_assert(XENBPF_MAX_KEY_SIZE == proto::kMaxKeySize);
static_assert(XENBPF_MAX_VALUE_SIZE == proto::kMaxValueSize);
static_assert(XENBPF_MAX_MAPS == proto::kMaxMapsPerObject);
static_assert(XENBPF_NAME_MAX == proto::kMaxNameSize);
static_assert(XENBPF_LICENSE_MAX == proto::kMaxLicenseSize);
static_assert(XENBPF_ANY == BPF_ANY && XENBPF_NOEXIST == BPF_NOEXIST && XENBPF_EXIST == BPF_EXIST);
static_assert(sizeof(bpf_insn) == proto::kInstructionSize);
static_assert(std::string_view(XENBPF_DEFAULT_CHANNEL) == proto::kDefaultSocketName);

namespace {

constexpr std::chrono::milliseconds kDefaultTimeout{30'000};

// Messages of calls that had no handle to keep them in (failed connects, NULL handles).
thread_local std::string t_no_handle_message;

void CopyName(std::string_view from, char* to, size_t capacity) {
  const size_t n = std::min(from.size(), capacity - 1);
  std::memcpy(to, from.data(), n);
  to[n] = '\0';
}

void FillMapInfo(uint32_t id, const proto::MapInfoResult& r, struct xenbpf_map_info* info) {
  info->id = id;
  info->type = r.map_type;
  info->key_size = r.key_size;
  info->value_size = r.value_size;
  info->max_entries = r.max_entries;
  CopyName(r.name, info->name, sizeof(info->name));
}

}  // namespace

struct xenbpf {
  // Held for a whole request and reply: one conversation at a time on the stream.
  mutable std::mutex mu;
  proto::BlockingClient client;
  std::chrono::milliseconds timeout = kDefaultTimeout;
  // Set once the stream is unusable (peer gone, timed out mid-reply, undecodable reply): why.
  // A byte stream cannot be resynchronised, and bpfd has already dropped the session's objects.
  std::optional<std::string> lost;
  // Each thread's last message on this handle, under their own lock so that xenbpf_errmsg never
  // waits behind another thread's long call. Nodes of a std::map do not move, so a pointer handed
  // out by xenbpf_errmsg stays valid while other threads record theirs.
  mutable std::mutex messages_mu;
  mutable std::map<std::thread::id, std::string> messages;

  void Record(std::string message) {
    std::lock_guard lock(messages_mu);
    messages[std::this_thread::get_id()] = std::move(message);
  }

  // Sends one request and waits for its reply. Returns the reply's status as a Status (bpfd's
  // message included) or the client's own failure. Requires `mu`.
  proto::Status Transact(proto::RequestArgs args, proto::OwnedReply* out);
};

proto::Status xenbpf::Transact(proto::RequestArgs args, proto::OwnedReply* out) {
  if (lost) {
    return proto::Status::Error(ENOTCONN, fmt::format("the connection to bpfd is lost ({}); "
                                                      "connect again",
                                                      *lost));
  }
  proto::Request request;
  request.args = std::move(args);
  const auto command = static_cast<uint16_t>(proto::CommandOf(request.args));
  // Bad arguments (sizes over the limits ...) are the caller's mistake, not a broken stream:
  // check them by encoding before anything is sent.
  {
    std::vector<uint8_t> scratch;
    request.request_id = 1;
    proto::Status shape = proto::EncodeRequest(request, &scratch);
    if (!shape.ok()) return shape;
  }
  const auto fail = [this](proto::Status s) {
    lost = s.message;
    client.Close();
    return s;
  };
  proto::Status s = client.Call(std::move(request), out, timeout);
  if (!s.ok() && (s.code == -EPIPE || s.code == -ECONNRESET)) {
    // bpfd may have said why before closing (a refused second session, a frame timeout); that
    // reply is still in the socket even though our send failed.
    proto::OwnedReply last;
    if (client.ReceiveReply(&last, std::chrono::milliseconds(100)).ok() &&
        last.reply.request_id == 0 && last.reply.status != 0) {
      *out = std::move(last);
      s = proto::Status::Ok();
    }
  }
  if (!s.ok()) return fail(std::move(s));
  const proto::Reply& reply = out->reply;
  if (reply.request_id == 0) {
    // A connection-level error: bpfd closes the session after it.
    return fail(proto::Status::Error(reply.status,
                                     fmt::format("bpfd ended the session: {}", reply.message)));
  }
  if (reply.command != command) {
    return fail(proto::Status::Error(
        EPROTO, fmt::format("bpfd answered {} to a {} request", proto::CommandName(reply.command),
                            proto::CommandName(command))));
  }
  if (reply.status != 0) return proto::Status::Error(reply.status, std::string(reply.message));
  return proto::Status::Ok();
}

namespace {

int NoHandle(int code, std::string message) {
  try {
    t_no_handle_message = std::move(message);
  } catch (...) {
    t_no_handle_message.clear();
  }
  return code;
}

// Runs `body` (returning proto::Status) under the handle's lock and records its message for
// the calling thread. The C ABI boundary: nothing thrown gets past here.
template <typename Body>
int Run(xenbpf* h, Body&& body) noexcept {
  if (h == nullptr) return NoHandle(-EINVAL, "the xenbpf handle is NULL");
  proto::Status status;
  try {
    {
      std::lock_guard lock(h->mu);
      status = body(*h);
    }
    h->Record(status.ok() ? std::string() : std::move(status.message));
    return status.code;
  } catch (const std::bad_alloc&) {
    status = proto::Status::Error(ENOMEM, "out of memory in libxenbpf");
  } catch (const std::exception& e) {
    status = proto::Status::Error(EIO, std::string("internal error in libxenbpf: ") + e.what());
  } catch (...) {
    status = proto::Status::Error(EIO, "internal error in libxenbpf");
  }
  try {
    h->Record(std::move(status.message));
  } catch (...) {
  }
  return status.code;
}

proto::Status Invalid(std::string message) {
  return proto::Status::Error(EINVAL, std::move(message));
}

std::span<const uint8_t> Bytes(const void* data, size_t size) {
  return {static_cast<const uint8_t*>(data), size};
}

}  // namespace

extern "C" {

int xenbpf_connect(const char* channel, xenbpf** out) {
  if (out == nullptr) return NoHandle(-EINVAL, "xenbpf_connect: out is NULL");
  *out = nullptr;
  try {
    auto handle = std::make_unique<xenbpf>();
    proto::ChannelAddress address;
    proto::Status s;
    const char* env = std::getenv(XENBPF_CHANNEL_ENV);
    if (channel != nullptr || (env != nullptr && *env != '\0')) {
      s = proto::ParseChannel(channel != nullptr ? channel : env, &address);
      if (!s.ok()) return NoHandle(s.code, std::move(s.message));
      s = proto::ConnectChannel(address, &handle->client);
    } else {
      // Unset: the abstract socket, and on a Xen guest where nobody listens there, the vchan
      // bpfd publishes in the guest's XenStore home (docs/libxenbpf.md, "Channels").
      s = proto::ConnectDefaultChannel(&handle->client, &address);
    }
    if (!s.ok()) {
      return NoHandle(s.code, fmt::format("cannot connect to bpfd: {} (is this domain "
                                          "registered with bpfd?)",
                                          s.message));
    }
    // One round trip, so a session bpfd refuses (EBUSY: another one is open) or a peer that is
    // not bpfd fails here, where the caller expects connection errors.
    proto::OwnedReply reply;
    s = handle->Transact(proto::StatsRequest{}, &reply);
    if (!s.ok()) {
      return NoHandle(s.code,
                      fmt::format("bpfd at {}: {}", proto::DescribeChannel(address), s.message));
    }
    t_no_handle_message.clear();
    *out = handle.release();
    return 0;
  } catch (const std::bad_alloc&) {
    return NoHandle(-ENOMEM, "out of memory in libxenbpf");
  } catch (const std::exception& e) {
    return NoHandle(-EIO, std::string("internal error in libxenbpf: ") + e.what());
  } catch (...) {
    return NoHandle(-EIO, "internal error in libxenbpf");
  }
}

void xenbpf_disconnect(xenbpf* h) {
  // Closing the socket is the whole protocol: bpfd unloads what the session loaded.
  delete h;
}

const char* xenbpf_errmsg(const xenbpf* h) {
  if (h == nullptr) return t_no_handle_message.c_str();
  try {
    std::lock_guard lock(h->messages_mu);
    const auto it = h->messages.find(std::this_thread::get_id());
    return it == h->messages.end() ? "" : it->second.c_str();
  } catch (...) {
    return "";
  }
}

int xenbpf_fd(const xenbpf* h) {
  if (h == nullptr) return -1;
  try {
    std::lock_guard lock(h->mu);
    return h->client.fd();
  } catch (...) {
    return -1;
  }
}

int xenbpf_set_timeout(xenbpf* h, unsigned int timeout_ms) {
  return Run(h, [timeout_ms](xenbpf& c) {
    c.timeout = timeout_ms == 0 ? kDefaultTimeout : std::chrono::milliseconds(timeout_ms);
    return proto::Status::Ok();
  });
}

int xenbpf_load_elf(xenbpf* h, const void* obj, size_t len, const char* prog_name,
                    uint32_t* prog_id, struct xenbpf_map_info* maps, size_t* n_maps) {
  return Run(h, [&](xenbpf& c) -> proto::Status {
    if (obj == nullptr && len != 0) return Invalid("xenbpf_load_elf: obj is NULL");
    if (prog_id == nullptr) return Invalid("xenbpf_load_elf: prog_id is NULL");
    const size_t room = n_maps == nullptr ? 0 : *n_maps;
    if (room != 0 && maps == nullptr) return Invalid("xenbpf_load_elf: maps is NULL");
    if (len > proto::kMaxObjectSize) {
      return proto::Status::Error(E2BIG, fmt::format("the object has {} bytes, the limit is {} "
                                                     "(strip debug info: llvm-strip -g)",
                                                     len, proto::kMaxObjectSize));
    }
    proto::OwnedReply reply;
    proto::Status s = c.Transact(
        proto::LoadElfRequest{Bytes(obj, len), prog_name == nullptr ? "" : prog_name}, &reply);
    if (!s.ok()) return s;
    const auto& loaded = std::get<proto::LoadElfResult>(reply.reply.result);
    // Sizes and types come from MAP_INFO, one request per map the caller has room for. If one
    // fails the load is undone, so a failed call leaves nothing behind.
    std::vector<struct xenbpf_map_info> infos;
    for (size_t i = 0; i < loaded.maps.size() && i < room; ++i) {
      proto::OwnedReply info_reply;
      s = c.Transact(proto::MapInfoRequest{loaded.maps[i].map_id}, &info_reply);
      if (!s.ok()) {
        proto::OwnedReply ignored;
        c.Transact(proto::UnloadRequest{loaded.program_id}, &ignored);
        s.message = fmt::format("describing map {} of the loaded object: {}", loaded.maps[i].map_id,
                                s.message);
        return s;
      }
      struct xenbpf_map_info info {};
      FillMapInfo(loaded.maps[i].map_id, std::get<proto::MapInfoResult>(info_reply.reply.result),
                  &info);
      infos.push_back(info);
    }
    std::copy(infos.begin(), infos.end(), maps);
    *prog_id = loaded.program_id;
    if (n_maps != nullptr) *n_maps = loaded.maps.size();
    return proto::Status::Ok();
  });
}

int xenbpf_load_bytecode(xenbpf* h, const bpf_insn* insns, size_t n, uint32_t prog_type,
                         const char* license, uint32_t* prog_id) {
  return Run(h, [&](xenbpf& c) -> proto::Status {
    if (insns == nullptr && n != 0) return Invalid("xenbpf_load_bytecode: insns is NULL");
    if (license == nullptr) return Invalid("xenbpf_load_bytecode: license is NULL");
    if (prog_id == nullptr) return Invalid("xenbpf_load_bytecode: prog_id is NULL");
    // Checked before multiplying, so no size_t overflow can make a huge count look small.
    if (n > proto::kMaxInstructions) {
      return proto::Status::Error(
          E2BIG, fmt::format("{} instructions, the limit is {}", n, proto::kMaxInstructions));
    }
    proto::OwnedReply reply;
    proto::Status s = c.Transact(
        proto::LoadBytecodeRequest{Bytes(insns, n * sizeof(bpf_insn)), prog_type, license}, &reply);
    if (!s.ok()) return s;
    *prog_id = std::get<proto::LoadBytecodeResult>(reply.reply.result).program_id;
    return proto::Status::Ok();
  });
}

int xenbpf_unload(xenbpf* h, uint32_t prog_id) {
  return Run(h, [&](xenbpf& c) {
    proto::OwnedReply reply;
    return c.Transact(proto::UnloadRequest{prog_id}, &reply);
  });
}

int xenbpf_map_info(xenbpf* h, uint32_t map_id, struct xenbpf_map_info* info) {
  return Run(h, [&](xenbpf& c) -> proto::Status {
    if (info == nullptr) return Invalid("xenbpf_map_info: info is NULL");
    proto::OwnedReply reply;
    proto::Status s = c.Transact(proto::MapInfoRequest{map_id}, &reply);
    if (!s.ok()) return s;
    FillMapInfo(map_id, std::get<proto::MapInfoResult>(reply.reply.result), info);
    return proto::Status::Ok();
  });
}

int xenbpf_lookup_elem(xenbpf* h, uint32_t map_id, const void* key, size_t key_size, void* value,
                       size_t value_size) {
  return Run(h, [&](xenbpf& c) -> proto::Status {
    if (key == nullptr && key_size != 0) return Invalid("xenbpf_lookup_elem: key is NULL");
    if (value == nullptr && value_size != 0) return Invalid("xenbpf_lookup_elem: value is NULL");
    proto::OwnedReply reply;
    proto::Status s = c.Transact(proto::MapLookupRequest{map_id, Bytes(key, key_size)}, &reply);
    if (!s.ok()) return s;
    const auto found = std::get<proto::MapLookupResult>(reply.reply.result).value;
    if (found.size() != value_size) {
      return Invalid(fmt::format("map {} has {}-byte values, the buffer has {} bytes", map_id,
                                 found.size(), value_size));
    }
    if (value_size != 0) std::memcpy(value, found.data(), value_size);
    return proto::Status::Ok();
  });
}

int xenbpf_update_elem(xenbpf* h, uint32_t map_id, const void* key, size_t key_size,
                       const void* value, size_t value_size, uint64_t flags) {
  return Run(h, [&](xenbpf& c) -> proto::Status {
    if (key == nullptr && key_size != 0) return Invalid("xenbpf_update_elem: key is NULL");
    if (value == nullptr && value_size != 0) return Invalid("xenbpf_update_elem: value is NULL");
    proto::OwnedReply reply;
    return c.Transact(
        proto::MapUpdateRequest{map_id, Bytes(key, key_size), Bytes(value, value_size), flags},
        &reply);
  });
}

int xenbpf_delete_elem(xenbpf* h, uint32_t map_id, const void* key, size_t key_size) {
  return Run(h, [&](xenbpf& c) -> proto::Status {
    if (key == nullptr && key_size != 0) return Invalid("xenbpf_delete_elem: key is NULL");
    proto::OwnedReply reply;
    return c.Transact(proto::MapDeleteRequest{map_id, Bytes(key, key_size)}, &reply);
  });
}

int xenbpf_stats(xenbpf* h, struct xenbpf_stats* stats) {
  return Run(h, [&](xenbpf& c) -> proto::Status {
    if (stats == nullptr) return Invalid("xenbpf_stats: stats is NULL");
    proto::OwnedReply reply;
    proto::Status s = c.Transact(proto::StatsRequest{}, &reply);
    if (!s.ok()) return s;
    const auto& r = std::get<proto::StatsResult>(reply.reply.result);
    stats->packets = r.packets;
    stats->bytes = r.bytes;
    stats->cpu_ns = r.cpu_ns;
    stats->cost_ps = r.cost_ps;
    CopyName(r.method, stats->method, sizeof(stats->method));
    return proto::Status::Ok();
  });
}

}  // extern "C"
