// Channel names (nfb/offload/channel.h): parsing, connecting to a socket by name, and what a vchan
// channel answers on a host that is not a Xen domain (this one).
#include "nfb/offload/channel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace nfb::offload::proto {
namespace {

using ::testing::HasSubstr;
using Kind = ChannelAddress::Kind;

ChannelAddress Parsed(const std::string& text) {
  ChannelAddress a;
  const Status s = ParseChannel(text, &a);
  EXPECT_TRUE(s.ok()) << text << ": " << s.message;
  return a;
}

TEST(ChannelTest, ParsesSocketNames) {
  EXPECT_EQ(Parsed("xenbpf").kind, Kind::kAbstractSocket);
  EXPECT_EQ(Parsed("xenbpf").name, "xenbpf");
  EXPECT_EQ(Parsed("@xenbpf").name, "xenbpf");
  EXPECT_EQ(DescribeChannel(Parsed("xenbpf")), "@xenbpf");
  EXPECT_EQ(Parsed(std::string(107, 'a')).name.size(), 107u);
}

TEST(ChannelTest, ParsesVchanNames) {
  EXPECT_EQ(Parsed("vchan:").kind, Kind::kVchan);
  EXPECT_EQ(Parsed("vchan:").name, kDefaultVchanPath);
  EXPECT_EQ(Parsed("vchan:data/other").name, "data/other");
  EXPECT_EQ(Parsed("vchan:/local/domain/5/data/xenbpf").name, "/local/domain/5/data/xenbpf");
  EXPECT_EQ(DescribeChannel(Parsed("vchan:")), "vchan:data/xenbpf");
  // "/local/domain/32751/data/xenbpf" fits with room to spare under libxenvchan's 64 bytes.
  EXPECT_EQ(Parsed("vchan:" + std::string(kMaxVchanPathSize, 'p')).name.size(), kMaxVchanPathSize);
}

TEST(ChannelTest, RefusesBadNames) {
  for (const std::string& bad : std::vector<std::string>{
           std::string(), "@", std::string(108, 'a'), "vchan:a//b", "vchan:data/", "vchan:a b",
           "vchan:a.b", "vchan:" + std::string(kMaxVchanPathSize + 1, 'p'),
           std::string("vchan:a\0b", 9), "vchan:data/xenbpf\n"}) {
    ChannelAddress a;
    const Status s = ParseChannel(bad, &a);
    EXPECT_EQ(s.code, -EINVAL) << bad;
    EXPECT_FALSE(s.message.empty());
  }
}

TEST(ChannelTest, ConnectsToASocketByName) {
  const std::string name = "nfbtest-channel-" + std::to_string(::getpid());
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  BlockingClient client;
  EXPECT_TRUE(ConnectChannel(Parsed("@" + name), &client).ok());
  EXPECT_TRUE(client.connected());
  ::close(listener);
  EXPECT_EQ(ConnectChannel(Parsed("@" + name), &client).code, -ECONNREFUSED);
  EXPECT_FALSE(client.connected());
}

// This host has no XenStore: a vchan reports why, and the default channel falls back to nothing.
TEST(ChannelTest, VchanWithoutXen) {
  BlockingClient client;
  const Status s = ConnectChannel(Parsed("vchan:"), &client);
  if (VchanClientAvailable()) {
    EXPECT_EQ(s.code, -ENODEV) << s.message;
    EXPECT_THAT(s.message, HasSubstr("XenStore"));
  } else {
    EXPECT_EQ(s.code, -EPROTONOSUPPORT) << s.message;
  }
  EXPECT_FALSE(client.connected());
}

TEST(ChannelTest, DefaultChannelWithoutBpfdOrXen) {
  // Nobody serves @xenbpf in the test's namespace and there is no XenStore: the socket's own
  // answer comes back unchanged.
  BlockingClient client;
  ChannelAddress used;
  const Status s = ConnectDefaultChannel(&client, &used);
  if (s.ok()) GTEST_SKIP() << "something listens on @xenbpf in this namespace";
  EXPECT_EQ(s.code, -ECONNREFUSED) << s.message;
  EXPECT_THAT(s.message, HasSubstr("@xenbpf"));
  EXPECT_EQ(used.kind, Kind::kAbstractSocket);
}

}  // namespace
}  // namespace nfb::offload::proto
