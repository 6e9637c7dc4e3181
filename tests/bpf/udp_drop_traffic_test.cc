// udp_drop with real traffic: trafgen floods through a veth pair, and its frames, sent from a
// PACKET_TX_RING, arrive as NON-LINEAR skbs (only the Ethernet header in the linear part), which
// BPF_PROG_TEST_RUN cannot produce. A filter that checked bounds against data_end alone would
// pass every one of them.
//
//   nfbt-ud-<pid>-tx  nfbt-ud-tx 02:00:00:00:bd:02 198.18.88.2   (trafgen)
//   nfbt-ud-<pid>-rx  nfbt-ud-rx 02:00:00:00:bd:01 198.18.88.1   (udp_drop at tc ingress)
//
// Needs root and trafgen (Debian: netsniff-ng); skips otherwise.
#include <arpa/inet.h>
#include <dirent.h>
#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>

#include "bpf_test_util.h"
#include "netns_shell.h"
#include "nfb/bpf/attach.h"
#include "nfb/bpf/udp_drop.h"
#include "nfb/core/netns.h"
#include "packet_builder.h"

namespace nfb::bpf::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kNsPrefix[] = "nfbt-ud-";
constexpr char kRxDev[] = "nfbt-ud-rx";
constexpr char kTxDev[] = "nfbt-ud-tx";
constexpr uint16_t kDropPort = 9999;
constexpr uint16_t kOtherPort = 5201;
const MacAddress kRxMac{0x02, 0x00, 0x00, 0x00, 0xbd, 0x01};
const MacAddress kTxMac{0x02, 0x00, 0x00, 0x00, 0xbd, 0x02};

void RemoveStaleNamespaces() { testing::RemoveStaleNamespaces(kNsPrefix); }

struct FrameSpec {
  uint16_t dst_port = kDropPort;
  Bytes ip_options;
  uint16_t frag = 0;
};

// A 72-byte Ethernet/IPv4/UDP frame from tx to rx (as the flood sends; longer with options).
Bytes Frame(const FrameSpec& spec) {
  Ipv4Fields ip;
  ip.options = spec.ip_options;
  ip.frag = spec.frag;
  PacketBuilder builder;
  builder.Ethernet(kRxMac, kTxMac)
      .Ipv4(Ip("198.18.88.2"), Ip("198.18.88.1"), ip)
      .Udp(40000, spec.dst_port)
      .Payload(PingPayload(30));
  return builder.Build();
}

class UdpDropTrafficTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NFB_SKIP_UNLESS_ROOT();
    if (Shell("command -v trafgen").status != 0) {
      GTEST_SKIP() << "needs trafgen (apt-get install netsniff-ng)";
    }
    RemoveStaleNamespaces();
    const std::string base = fmt::format("{}{}-", kNsPrefix, getpid());
    rx_ns_ = base + "rx";
    tx_ns_ = base + "tx";
    dir_ = fs::temp_directory_path() / fmt::format("nfbt-ud-{}", getpid());
    fs::create_directories(dir_);
    DeleteNamespaces();
    const std::string commands[] = {
        "ip netns add " + rx_ns_,
        "ip netns add " + tx_ns_,
        // No IPv6 chatter (router solicitations, MLD) in the counters.
        "ip netns exec " + rx_ns_ +
            " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1",
        "ip netns exec " + tx_ns_ +
            " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1",
        fmt::format("ip link add {} netns {} address {} type veth peer name {} netns {} address {}",
                    kRxDev, rx_ns_, FormatMac(kRxMac), kTxDev, tx_ns_, FormatMac(kTxMac)),
        fmt::format("ip -n {} addr add 198.18.88.1/24 dev {}", rx_ns_, kRxDev),
        fmt::format("ip -n {} addr add 198.18.88.2/24 dev {}", tx_ns_, kTxDev),
        fmt::format("ip -n {} link set {} up", rx_ns_, kRxDev),
        fmt::format("ip -n {} link set {} up", tx_ns_, kTxDev),
    };
    for (const std::string& command : commands) {
      const CommandResult result = Shell(command);
      ASSERT_EQ(result.status, 0) << command << "\n" << result.output;
    }
    program_.emplace(UdpDropConfig{.port = kDropPort});
    const NetnsScope in_rx(rx_ns_);
    attachment_.emplace(TcIngressAttachment::Attach(kRxDev, program_->tc_fd()));
  }

  void TearDown() override {
    attachment_.reset();
    DeleteNamespaces();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  void DeleteNamespaces() {
    if (rx_ns_.empty()) return;
    Shell("ip netns del " + rx_ns_ + " 2>/dev/null");
    Shell("ip netns del " + tx_ns_ + " 2>/dev/null");
  }

  // Sends `count` copies of `frame` with trafgen at full speed (its TX ring) from the tx side and
  // returns how many trafgen reports as sent; -1 (and a test failure) when it failed.
  long Trafgen(const Bytes& frame, int count) {
    const fs::path config = dir_ / "frame.cfg";
    {
      std::ofstream out(config);
      out << "{";
      for (size_t i = 0; i < frame.size(); ++i)
        out << (i ? ", " : " ") << fmt::format("{:#04x}", frame[i]);
      out << " }\n";
    }
    // --no-sock-mem --notouch-irq: trafgen would otherwise retune global sysctls and IRQs.
    const CommandResult run = Shell(fmt::format(
        "ip netns exec {} trafgen --dev {} --in {} --num {} --cpus 1 --no-sock-mem --notouch-irq",
        tx_ns_, kTxDev, config.string(), count));
    std::smatch match;
    if (run.status != 0 ||
        !std::regex_search(run.output, match, std::regex(R"((\d+) packets outgoing)"))) {
      ADD_FAILURE() << "trafgen failed (" << run.status << "):\n" << run.output;
      return -1;
    }
    return std::stol(match[1]);
  }

  // A UDP socket in the rx namespace bound to `port`, with a receive buffer big enough for the
  // bursts below (SO_RCVBUFFORCE: root may exceed rmem_max).
  int BindUdp(uint16_t port) {
    const NetnsScope in_rx(rx_ns_);
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    const int size = 16 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
        << std::strerror(errno);
    return fd;
  }

  static int Drain(int fd) {
    int datagrams = 0;
    char buffer[2048];
    while (recv(fd, buffer, sizeof(buffer), 0) >= 0) ++datagrams;
    return datagrams;
  }

  std::string rx_ns_, tx_ns_;
  fs::path dir_;
  std::optional<UdpDropProgram> program_;
  std::optional<TcIngressAttachment> attachment_;
};

TEST_F(UdpDropTrafficTest, DropsEveryNonLinearFrameOfATrafgenFlood) {
  const int to_drop = BindUdp(kDropPort);
  constexpr int kFrames = 10000;
  const UdpDropCounters before = program_->Counters();
  ASSERT_EQ(Trafgen(Frame({}), kFrames), kFrames);
  const UdpDropCounters after = program_->Counters();
  EXPECT_EQ(after.dropped - before.dropped, static_cast<uint64_t>(kFrames));
  EXPECT_EQ(after.passed - before.passed, 0u);
  EXPECT_EQ(Drain(to_drop), 0) << "dropped datagrams reached the socket";
  close(to_drop);
}

TEST_F(UdpDropTrafficTest, DropsNonLinearFramesWithIpOptions) {
  // IHL 7: the UDP header lies beyond the 28 bytes the first copy reads, so a second one is made.
  FrameSpec spec;
  spec.ip_options = Bytes(8, 0x01);
  constexpr int kFrames = 2000;
  ASSERT_EQ(Trafgen(Frame(spec), kFrames), kFrames);
  EXPECT_EQ(program_->Counters().dropped, static_cast<uint64_t>(kFrames));
}

TEST_F(UdpDropTrafficTest, OtherPortsAndLaterFragmentsStillReachTheReceiver) {
  const int other = BindUdp(kOtherPort);
  constexpr int kFrames = 2000;
  FrameSpec spec;
  spec.dst_port = kOtherPort;
  ASSERT_EQ(Trafgen(Frame(spec), kFrames), kFrames);
  UdpDropCounters counters = program_->Counters();
  EXPECT_EQ(counters.dropped, 0u);
  EXPECT_EQ(counters.passed, static_cast<uint64_t>(kFrames));
  EXPECT_EQ(Drain(other), kFrames);
  close(other);

  // Non-first fragments have no UDP header: passed (to reassembly, which never completes).
  FrameSpec fragment;
  fragment.frag = 0x2000 | 185;
  ASSERT_EQ(Trafgen(Frame(fragment), 100), 100);
  counters = program_->Counters();
  EXPECT_EQ(counters.dropped, 0u);
  EXPECT_EQ(counters.passed, static_cast<uint64_t>(kFrames) + 100);
}

}  // namespace
}  // namespace nfb::bpf::testing
