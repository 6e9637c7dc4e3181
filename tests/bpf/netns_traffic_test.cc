// Real traffic through the programs, between two network namespaces joined by a veth pair:
//
//   nfbtest-bpf-<pid>-tx  nfbt-tx 02:00:00:00:bf:02 198.18.77.2   (client: ping, packet sockets)
//   nfbtest-bpf-<pid>-rx  nfbt-rx 02:00:00:00:bf:01 198.18.77.1   (server: programs at ingress)
//
// The server's kernel ignores echo requests (net.ipv4.icmp_echo_ignore_all=1), so every reply
// the client sees was produced by BPF. The pid in the names keeps parallel test processes apart.
#include <arpa/inet.h>
#include <dirent.h>
#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <regex>
#include <string>

#include "bpf_test_util.h"
#include "netns_shell.h"
#include "nfb/bpf/attach.h"
#include "nfb/bpf/dispatcher.h"
#include "nfb/bpf/icmp_echo.h"
#include "nfb/core/error.h"
#include "nfb/core/netns.h"
#include "packet_builder.h"

namespace nfb::bpf::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNsPrefix[] = "nfbtest-bpf-";
constexpr char kRxDev[] = "nfbt-rx";
constexpr char kTxDev[] = "nfbt-tx";

void RemoveStaleNamespaces() { testing::RemoveStaleNamespaces(kNsPrefix); }

struct PingResult {
  int received = -1;
  bool duplicates = false;
  std::string output;
};

class VethPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NFB_SKIP_UNLESS_ROOT();
    RemoveStaleNamespaces();
    const std::string base = fmt::format("{}{}-", kNsPrefix, getpid());
    rx_ns_ = base + "rx";
    tx_ns_ = base + "tx";
    DeleteNamespaces();
    const std::string commands[] = {
        "ip netns add " + rx_ns_,
        "ip netns add " + tx_ns_,
        // No IPv6 chatter (router solicitations, MLD) in the counters.
        "ip netns exec " + rx_ns_ +
            " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1"
            " net.ipv4.icmp_echo_ignore_all=1",
        "ip netns exec " + tx_ns_ +
            " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1",
        fmt::format("ip link add {} netns {} address {} type veth peer name {} netns {} address {}",
                    kRxDev, rx_ns_, FormatMac(spec_.server_mac), kTxDev, tx_ns_,
                    FormatMac(spec_.client_mac)),
        fmt::format("ip -n {} addr add 198.18.77.1/24 dev {}", rx_ns_, kRxDev),
        fmt::format("ip -n {} addr add 198.18.77.2/24 dev {}", tx_ns_, kTxDev),
        fmt::format("ip -n {} link set {} up", rx_ns_, kRxDev),
        fmt::format("ip -n {} link set {} up", tx_ns_, kTxDev),
        fmt::format("ip -n {} link set lo up", rx_ns_),
        fmt::format("ip -n {} link set lo up", tx_ns_),
    };
    for (const std::string& command : commands) {
      const CommandResult result = Shell(command);
      ASSERT_EQ(result.status, 0) << command << "\n" << result.output;
    }
  }

  void TearDown() override { DeleteNamespaces(); }

  void DeleteNamespaces() {
    if (rx_ns_.empty()) return;
    Shell("ip netns del " + rx_ns_);
    Shell("ip netns del " + tx_ns_);
  }

  void MustRun(const std::string& command) {
    const CommandResult result = Shell(command);
    ASSERT_EQ(result.status, 0) << command << "\n" << result.output;
  }

  PingResult Ping(int count, const std::string& target = "198.18.77.1", int wait_s = 2) {
    PingResult ping;
    const CommandResult run = Shell(fmt::format("ip netns exec {} ping -n -c {} -i 0.2 -W {} {}",
                                                tx_ns_, count, wait_s, target));
    ping.output = run.output;
    std::smatch match;
    if (std::regex_search(run.output, match, std::regex(R"((\d+) received)"))) {
      ping.received = std::stoi(match[1]);
    }
    ping.duplicates = run.output.find("DUP!") != std::string::npos;
    return ping;
  }

  TcIngressAttachment AttachTcAtServer(int prog_fd) {
    const NetnsScope in_rx(rx_ns_);
    return TcIngressAttachment::Attach(kRxDev, prog_fd);
  }

  EchoSpec spec_;  // the addresses above
  std::string rx_ns_;
  std::string tx_ns_;
};

TEST_F(VethPairTest, TcEchoAnswersRealPingsAndDetachesFromAnotherNamespace) {
  IcmpEchoProgram echo;
  TcIngressAttachment attachment = AttachTcAtServer(echo.tc_fd());
  EXPECT_TRUE(attachment.created_qdisc());
  EXPECT_THAT(Shell(fmt::format("tc -n {} filter show dev {} ingress", rx_ns_, kRxDev)).output,
              HasSubstr("icmp_echo_tc"));

  const PingResult ping = Ping(5);
  EXPECT_EQ(ping.received, 5) << ping.output;
  EXPECT_FALSE(ping.duplicates) << ping.output;
  EXPECT_EQ(echo.Counters().answered, 5u) << "replies did not come from the program";

  // Detached from the test's own namespace: the attachment returns to the server's by itself,
  // and removes the clsact qdisc it created.
  attachment.Detach();
  EXPECT_FALSE(attachment.attached());
  EXPECT_EQ(Shell(fmt::format("tc -n {} filter show dev {} ingress", rx_ns_, kRxDev)).output, "");
  EXPECT_THAT(Shell(fmt::format("tc -n {} qdisc show dev {}", rx_ns_, kRxDev)).output,
              Not(HasSubstr("clsact")));
  const PingResult after = Ping(1, "198.18.77.1", 1);
  EXPECT_EQ(after.received, 0) << "something still answers:\n" << after.output;
  EXPECT_EQ(echo.Counters().answered, 5u);
  EXPECT_NO_THROW(attachment.Detach()) << "detaching twice is harmless";
}

TEST_F(VethPairTest, TcAttachmentKeepsAClsactItDidNotCreate) {
  MustRun(fmt::format("tc -n {} qdisc add dev {} clsact", rx_ns_, kRxDev));
  IcmpEchoProgram echo;
  {
    TcIngressAttachment attachment = AttachTcAtServer(echo.tc_fd());
    EXPECT_FALSE(attachment.created_qdisc());
    EXPECT_EQ(Ping(2).received, 2);
    // Moving hands the attachment over; only the last owner detaches.
    TcIngressAttachment moved = std::move(attachment);
    EXPECT_FALSE(attachment.attached());  // NOLINT(bugprone-use-after-move): tested on purpose
    EXPECT_TRUE(moved.attached());
  }
  EXPECT_EQ(Shell(fmt::format("tc -n {} filter show dev {} ingress", rx_ns_, kRxDev)).output, "");
  EXPECT_THAT(Shell(fmt::format("tc -n {} qdisc show dev {}", rx_ns_, kRxDev)).output,
              HasSubstr("clsact"));
}

TEST_F(VethPairTest, TcDetachToleratesInterfaceAndNamespaceBeingGone) {
  IcmpEchoProgram echo;
  TcIngressAttachment attachment = AttachTcAtServer(echo.tc_fd());
  MustRun(fmt::format("ip -n {} link del {}", rx_ns_, kRxDev));
  MustRun("ip netns del " + rx_ns_);
  EXPECT_NO_THROW(attachment.Detach());
  EXPECT_FALSE(attachment.attached());
}

TEST_F(VethPairTest, TcAttachToAMissingInterfaceFails) {
  IcmpEchoProgram echo;
  const NetnsScope in_rx(rx_ns_);
  EXPECT_THROW(TcIngressAttachment::Attach("nfbt-none", echo.tc_fd()), RunError);
}

TEST_F(VethPairTest, DispatcherTailCallsIntoEchoForTheServersMac) {
  IcmpEchoProgram echo;
  Dispatcher dispatcher;
  dispatcher.SetSlot(spec_.server_mac, echo.tc_fd());
  const TcIngressAttachment attachment = AttachTcAtServer(dispatcher.tc_fd());

  const PingResult ping = Ping(5);
  EXPECT_EQ(ping.received, 5) << ping.output;
  EXPECT_FALSE(ping.duplicates) << ping.output;
  const IcmpEchoCounters echo_counters = echo.Counters();
  EXPECT_EQ(echo_counters.answered, 5u);

  // Every frame counted for the slot reached the echo program (ARP requests are broadcast and
  // pass the dispatcher uncounted; a unicast ARP probe would be counted and passed by echo).
  const SlotCounters slot = dispatcher.Counters(spec_.server_mac);
  EXPECT_EQ(slot.packets, echo_counters.answered + echo_counters.passed);
  EXPECT_GE(slot.bytes, 5u * (14 + 20 + 8 + 56));
}

// AF_PACKET TX rings (trafgen) put only the Ethernet header in the skb's linear part; the rest
// stays in page fragments. BPF_PROG_TEST_RUN only makes linear skbs, so this is the test that
// the program pulls the headers in before parsing them.
void SendThroughTxRing(const std::string& ifname, const Bytes& frame) {
  const int fd = socket(AF_PACKET, SOCK_RAW, 0);  // protocol 0: send only
  ASSERT_GE(fd, 0) << std::strerror(errno);
  tpacket_req request{};
  request.tp_block_size = 4096;
  request.tp_block_nr = 1;
  request.tp_frame_size = 2048;
  request.tp_frame_nr = 2;
  ASSERT_EQ(setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &request, sizeof(request)), 0)
      << std::strerror(errno);
  void* ring = mmap(nullptr, request.tp_block_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(ring, MAP_FAILED) << std::strerror(errno);
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
      << std::strerror(errno);

  auto* header = static_cast<tpacket_hdr*>(ring);
  auto* data = static_cast<uint8_t*>(ring) + TPACKET_HDRLEN - sizeof(sockaddr_ll);
  std::memcpy(data, frame.data(), frame.size());
  header->tp_len = static_cast<unsigned int>(frame.size());
  header->tp_status = TP_STATUS_SEND_REQUEST;
  EXPECT_EQ(send(fd, nullptr, 0, 0), static_cast<ssize_t>(frame.size())) << std::strerror(errno);
  munmap(ring, request.tp_block_size);
  close(fd);
}

// A packet socket bound to `ifname` in the current namespace, receiving `protocol`; -1 on error.
int OpenPacketSocket(const std::string& ifname, uint16_t protocol) {
  const int fd = socket(AF_PACKET, SOCK_RAW, htons(protocol));
  if (fd < 0) return -1;
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(protocol);
  address.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// An ordinary (linear) send on a bound packet socket.
void SendFrame(int fd, const Bytes& frame) {
  EXPECT_EQ(send(fd, frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size()))
      << std::strerror(errno);
}

// Waits up to timeout_s for an incoming ICMP echo reply on `fd` and returns the frame.
std::optional<Bytes> ReceiveEchoReply(int fd, int timeout_s = 2) {
  timeval timeout{.tv_sec = timeout_s, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  Bytes frame(2048);
  for (;;) {
    sockaddr_ll from{};
    socklen_t from_length = sizeof(from);
    const ssize_t n = recvfrom(fd, frame.data(), frame.size(), 0,
                               reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n < 0) return std::nullopt;
    if (from.sll_pkttype == PACKET_OUTGOING || n < 14 + 20 + 8) continue;
    // Untagged IPv4 ICMP echo reply (a tagged one would have 0x8100 at offset 12).
    if (frame[12] == 0x08 && frame[13] == 0x00 && frame[14 + 9] == 1 &&
        frame[14 + 20] == kIcmpEchoReply) {
      frame.resize(static_cast<size_t>(n));
      return frame;
    }
  }
}

TEST_F(VethPairTest, TcEchoAnswersNonLinearSkbsFromATxRing) {
  IcmpEchoProgram echo;
  const TcIngressAttachment attachment = AttachTcAtServer(echo.tc_fd());

  const NetnsScope in_tx(tx_ns_);
  const int receiver = OpenPacketSocket(kTxDev, ETH_P_IP);
  ASSERT_GE(receiver, 0) << std::strerror(errno);

  EchoSpec spec = spec_;
  spec.payload = PingPayload(200);  // well past the linear Ethernet header
  SendThroughTxRing(kTxDev, EchoRequest(spec).Build());
  const std::optional<Bytes> reply = ReceiveEchoReply(receiver);
  close(receiver);

  ASSERT_TRUE(reply.has_value()) << "no reply; the program saw a short linear part and passed";
  EXPECT_EQ(*reply, EchoReply(spec).Build()) << HexDump(*reply);
  EXPECT_TRUE(HasValidIcmpChecksums(*reply));
  EXPECT_EQ(echo.Counters().answered, 1u);
}

TEST_F(VethPairTest, TcEchoLeavesVlanTaggedRequestsToTheKernel) {
  // The receiving core moves the 802.1Q tag into the skb before tc ingress, so the program sees an
  // untagged IPv4 frame; answering it would send an untagged reply. (Sent from a packet socket:
  // the kernel here may lack 8021q, and the tag is what matters, not a VLAN device.)
  IcmpEchoProgram echo;
  const TcIngressAttachment attachment = AttachTcAtServer(echo.tc_fd());

  const NetnsScope in_tx(tx_ns_);
  const int receiver = OpenPacketSocket(kTxDev, ETH_P_ALL);
  ASSERT_GE(receiver, 0) << std::strerror(errno);
  PacketBuilder tagged = EchoRequest(spec_);
  tagged.VlanTag(7);
  SendFrame(receiver, tagged.Build());
  const std::optional<Bytes> reply = ReceiveEchoReply(receiver, /*timeout_s=*/1);
  close(receiver);

  EXPECT_FALSE(reply.has_value()) << HexDump(*reply);
  const IcmpEchoCounters counters = echo.Counters();
  EXPECT_EQ(counters.answered, 0u);
  EXPECT_EQ(counters.passed, 1u);
}

TEST_F(VethPairTest, XdpGenericEchoAnswersRealPings) {
  IcmpEchoProgram echo;
  std::optional<XdpAttachment> attachment;
  {
    const NetnsScope in_rx(rx_ns_);
    attachment.emplace(XdpAttachment::Attach(kRxDev, echo.xdp_fd(), XdpMode::kGeneric));
    // A second program on the same hook is refused rather than silently replacing the first.
    EXPECT_THROW(XdpAttachment::Attach(kRxDev, echo.xdp_fd(), XdpMode::kGeneric), RunError);
  }
  const PingResult ping = Ping(5);
  EXPECT_EQ(ping.received, 5) << ping.output;
  EXPECT_EQ(echo.Counters().answered, 5u);

  attachment->Detach();
  EXPECT_THAT(Shell(fmt::format("ip -n {} link show dev {}", rx_ns_, kRxDev)).output,
              Not(HasSubstr("xdp")));
}

}  // namespace
}  // namespace nfb::bpf::testing
