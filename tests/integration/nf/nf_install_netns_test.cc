// nf::Install on the emulated Xen host, against real UDP traffic from the external host loadgen:
//
//  - udp_drop in the guest (harness-direct, domu1's eth0): a stream to port 9999 is dropped to
//    the last datagram, a stream to another port still reaches a socket in the guest;
//  - udp_drop offloaded (XenBPF: bpfd in dom0, xenbpf-load --set in the guest): the same, and the
//    dropped datagrams never reach the guest's eth0 while the dispatcher's slot counts them;
//    trafgen's non-linear frames are dropped too;
//  - udp_drop in dom0: only traffic to dom0's own address is dropped, the guest's passes;
//  - iptables in the guest and in dom0: the rule's counter equals what was sent to it, and the
//    rules are gone after the installed function is destroyed.
//
// Root only (skips otherwise); the platform is provisioned once and torn down at the end.
#include <arpa/inet.h>
#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "nfb/core/cancel.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"
#include "nfb/core/subprocess.h"
#include "nfb/nf/install.h"
#include "nfb/platform/netns_platform.h"
#include "platform_test_util.h"

namespace nfb {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using platform::testing::Counters;
using platform::testing::NamespacesWithPrefix;
using scenario::InstallAt;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint16_t kDropPort = 9999;
constexpr uint16_t kOtherPort = 5201;

// A UDP socket bound to `port` in `netns`, with a receive buffer for a whole burst
// (SO_RCVBUFFORCE: root may exceed rmem_max). -1 on failure (and a test failure).
int BindUdp(const std::string& netns, uint16_t port) {
  const NetnsScope in(netns);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  const int size = 16 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
      << std::strerror(errno);
  return fd;
}

// Datagrams waiting on `fd`, read until none arrives for 300 ms.
int Drain(int fd) {
  int datagrams = 0;
  char buffer[2048];
  for (;;) {
    while (::recv(fd, buffer, sizeof(buffer), 0) >= 0) ++datagrams;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 300) <= 0) return datagrams;
  }
}

// `count` datagrams of 30 bytes (72-byte frames) from a socket in `netns` to address:port, in
// bursts of 100 a millisecond apart, so no queue on the way overflows and every datagram arrives.
void SendUdp(const std::string& netns, const std::string& address, uint16_t port, int count) {
  int fd = -1;
  {
    const NetnsScope in(netns);
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  }
  ASSERT_GE(fd, 0) << std::strerror(errno);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ASSERT_EQ(::inet_pton(AF_INET, address.c_str(), &to.sin_addr), 1);
  const char payload[30] = {};
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(
        ::sendto(fd, payload, sizeof(payload), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
        static_cast<ssize_t>(sizeof(payload)))
        << std::strerror(errno);
    if (i % 100 == 99) std::this_thread::sleep_for(1ms);
  }
  ::close(fd);
}

std::vector<uint8_t> Mac(const std::string& text) {
  std::vector<uint8_t> mac;
  for (size_t i = 0; i < text.size(); i += 3)
    mac.push_back(std::stoul(text.substr(i, 2), nullptr, 16));
  return mac;
}

std::vector<uint8_t> Ipv4(const std::string& dotted) {
  in_addr a{};
  ::inet_pton(AF_INET, dotted.c_str(), &a);
  const auto* b = reinterpret_cast<const uint8_t*>(&a.s_addr);
  return {b[0], b[1], b[2], b[3]};
}

// A 72-byte Ethernet/IPv4/UDP frame (IP checksum computed, UDP checksum 0).
std::vector<uint8_t> UdpFrame(const platform::HostInfo& from, const platform::HostInfo& to,
                              uint16_t port) {
  std::vector<uint8_t> f = Mac(to.mac);
  const std::vector<uint8_t> src = Mac(from.mac);
  f.insert(f.end(), src.begin(), src.end());
  f.insert(f.end(), {0x08, 0x00, 0x45, 0x00, 0x00, 58, 0, 0, 0, 0, 64, 17, 0, 0});
  const std::vector<uint8_t> s = Ipv4(from.address), d = Ipv4(to.address);
  f.insert(f.end(), s.begin(), s.end());
  f.insert(f.end(), d.begin(), d.end());
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2) sum += static_cast<uint32_t>(f[i] << 8 | f[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  f[24] = static_cast<uint8_t>(~sum >> 8);
  f[25] = static_cast<uint8_t>(~sum & 0xff);
  f.insert(f.end(),
           {0x9c, 0x40, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port), 0, 38, 0, 0});
  f.resize(72, 0);
  return f;
}

class NfInstallNetnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { platform_.Provision(); }
  // Nothing of the run is left in `ip netns list`.
  static void TearDownTestSuite() { EXPECT_THAT(platform_.Teardown(), ::testing::IsEmpty()); }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, BPF, iptables)";
    ASSERT_TRUE(platform_) << "the platform was not provisioned";
    dir_ = fs::temp_directory_path() / fmt::format("nfbtest-nf-install-{}", ::getpid());
    fs::create_directories(dir_);
  }

  void TearDown() override {
    installed_.reset();
    if (HasFailure()) {
      for (const char* log : {"bpfd.stderr.log", "xenbpf-load.log", "xenbpf-load.stderr.log"}) {
        std::cerr << "--- " << log << " ---\n" << platform::testing::ReadText(dir_ / log);
      }
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static const platform::HostInfo& Host(const std::string& name) { return platform_->Host(name); }

  // Installs `program` for a configuration targeting domu1 (dom0 for at: dom0).
  void Install(scenario::ProgramSpec program, InstallAt at) {
    scenario_ = scenario::Scenario{};
    scenario_.topology = platform::testing::PingTopology();
    scenario::Configuration config;
    config.name = "test";
    config.target = at == InstallAt::kDom0 ? "dom0" : "domu1";
    config.install = scenario::InstallSpec{.program = program.name, .at = at};
    scenario_.programs.emplace(program.name, std::move(program));
    scenario_.configurations.push_back(config);
    installed_ = nf::Install(scenario_, config, *platform_, dir_);
  }

  static scenario::ProgramSpec UdpDrop() {
    scenario::ProgramSpec p;
    p.name = "udp_drop";
    p.object = "udp_drop";
    p.parameters = {{"port", kDropPort}};
    return p;
  }

  static scenario::ProgramSpec IptablesDrop() {
    scenario::ProgramSpec p;
    p.name = "iptables_drop";
    p.kind = scenario::ProgramKind::kIptables;
    p.iptables_rules = {fmt::format("INPUT -p udp --dport {} -j DROP", kDropPort)};
    return p;
  }

  // trafgen at full speed from loadgen (frames from its TX ring: non-linear skbs); returns what
  // trafgen reports as sent.
  long Trafgen(const std::vector<uint8_t>& frame, int count) {
    const fs::path config = dir_ / "frame.cfg";
    {
      std::ofstream out(config);
      out << "{";
      for (size_t i = 0; i < frame.size(); ++i)
        out << (i ? ", " : " ") << fmt::format("{:#04x}", frame[i]);
      out << " }\n";
    }
    const ProcessResult r = RunProcess(
        platform_->Command("loadgen", {"trafgen", "--dev", Host("loadgen").interface, "--in",
                                       config.string(), "--num", std::to_string(count), "--cpus",
                                       "1", "--no-sock-mem", "--notouch-irq"}),
        60s);
    std::smatch match;
    if (!r.Succeeded() ||
        !std::regex_search(r.out, match, std::regex(R"((\d+) packets outgoing)"))) {
      ADD_FAILURE() << "trafgen failed (" << r.Status() << "):\n" << r.out << r.err;
      return -1;
    }
    return std::stol(match[1]);
  }

  std::string Iptables(const std::string& host, std::vector<std::string> args) {
    args.insert(args.begin(), {"iptables", "-w"});
    return RunChecked(platform_->Command(host, args), 30s).out;
  }

  static platform::testing::SuitePlatform platform_;
  fs::path dir_;
  scenario::Scenario scenario_;
  std::unique_ptr<nf::InstalledFunction> installed_;
};

platform::testing::SuitePlatform NfInstallNetnsTest::platform_;

TEST_F(NfInstallNetnsTest, UdpDropInTheGuestDropsThePortAndPassesTheRest) {
  Install(UdpDrop(), InstallAt::kGuest);
  const json d = installed_->Describe();
  EXPECT_EQ(d.at("path"), "harness-direct");
  EXPECT_EQ(d.at("object"), "udp_drop");
  EXPECT_EQ(d.at("interface"), "eth0");
  EXPECT_EQ(d.at("parameters"), (json{{"port", kDropPort}}));

  const std::string guest = Host("domu1").netns;
  const int dropped_socket = BindUdp(guest, kDropPort);
  const int other_socket = BindUdp(guest, kOtherPort);
  constexpr int kDrop = 10000, kOther = 1000;
  SendUdp(Host("loadgen").netns, Host("domu1").address, kDropPort, kDrop);
  SendUdp(Host("loadgen").netns, Host("domu1").address, kOtherPort, kOther);
  EXPECT_EQ(Drain(other_socket), kOther);
  EXPECT_EQ(Drain(dropped_socket), 0);
  ::close(dropped_socket);
  ::close(other_socket);

  const json c = installed_->Counters();
  EXPECT_EQ(c.at("dropped"), kDrop) << c.dump();
  EXPECT_GE(c.at("passed").get<int>(), kOther) << c.dump();
}

TEST_F(NfInstallNetnsTest, OffloadedUdpDropDropsInDom0BeforeTheGuest) {
  Install(UdpDrop(), InstallAt::kOffload);
  const json d = installed_->Describe();
  EXPECT_EQ(d.at("path"), "bpfd");
  // The loader configured the port through bpfd's map update before printing its result line.
  ASSERT_TRUE(d.at("loaded").contains("set")) << d.dump();
  EXPECT_EQ(d["loaded"]["set"][0].at("map"), "udp_drop_config");
  EXPECT_EQ(d["loaded"]["set"][0].at("value"), "00000000270f0000");

  const std::string guest = Host("domu1").netns;
  const int dropped_socket = BindUdp(guest, kDropPort);
  const int other_socket = BindUdp(guest, kOtherPort);
  const json before = installed_->Counters();
  const auto guest_before = Counters(guest, "eth0");
  constexpr int kDrop = 10000, kOther = 1000;
  SendUdp(Host("loadgen").netns, Host("domu1").address, kDropPort, kDrop);
  SendUdp(Host("loadgen").netns, Host("domu1").address, kOtherPort, kOther);
  EXPECT_EQ(Drain(other_socket), kOther);
  EXPECT_EQ(Drain(dropped_socket), 0);
  const auto guest_after = Counters(guest, "eth0");

  const json c = installed_->Counters();
  EXPECT_EQ(c.at("dropped").get<int>() - before.at("dropped").get<int>(), kDrop) << c.dump();
  EXPECT_GE(c.at("passed").get<int>() - before.at("passed").get<int>(), kOther) << c.dump();
  // The dispatcher counted every frame for the guest's MAC, the dropped ones included ...
  const uint64_t slot = c.at("dispatcher_slot_packets").get<uint64_t>() -
                        before.at("dispatcher_slot_packets").get<uint64_t>();
  EXPECT_GE(slot, static_cast<uint64_t>(kDrop + kOther)) << c.dump();
  // ... and only the others reached the guest's eth0 (plus a few ARP frames).
  const uint64_t guest_rx = guest_after.rx_packets - guest_before.rx_packets;
  EXPECT_GE(guest_rx, static_cast<uint64_t>(kOther));
  EXPECT_LE(guest_rx, static_cast<uint64_t>(kOther) + 20) << "dropped datagrams reached eth0";
  EXPECT_LE(c.at("guest_rx_packets_during_install").get<uint64_t>(),
            static_cast<uint64_t>(kOther) + 40)
      << c.dump();

  // trafgen's non-linear frames, through the switch and dom0's NIC into the dispatcher.
  constexpr int kFlood = 10000;
  const long sent = Trafgen(UdpFrame(Host("loadgen"), Host("domu1"), kDropPort), kFlood);
  ASSERT_EQ(sent, kFlood);
  const json after_flood = installed_->Counters();
  EXPECT_EQ(after_flood.at("dropped").get<int>() - c.at("dropped").get<int>(), kFlood)
      << after_flood.dump();
  EXPECT_EQ(Drain(dropped_socket), 0);
  ::close(dropped_socket);
  ::close(other_socket);
  std::cout << fmt::format(
      "offloaded udp_drop: {} + {} datagrams dropped in dom0, guest eth0 rx +{} during the first "
      "{}; dispatcher slot +{}\n",
      kDrop, kFlood, guest_rx, kDrop + kOther, slot);

  // Destroying it ends the guest's session: traffic to the port reaches the guest again.
  installed_.reset();
  const int again = BindUdp(guest, kDropPort);
  SendUdp(Host("loadgen").netns, Host("domu1").address, kDropPort, 100);
  EXPECT_EQ(Drain(again), 100);
  ::close(again);
}

TEST_F(NfInstallNetnsTest, UdpDropInDom0DropsOnlyTrafficToDom0) {
  Install(UdpDrop(), InstallAt::kDom0);
  EXPECT_EQ(installed_->Describe().at("only_daddr"), Host("dom0").address);
  const int dom0_socket = BindUdp(Host("dom0").netns, kDropPort);
  const int guest_socket = BindUdp(Host("domu1").netns, kDropPort);
  SendUdp(Host("loadgen").netns, Host("dom0").address, kDropPort, 1000);
  SendUdp(Host("loadgen").netns, Host("domu1").address, kDropPort, 500);
  EXPECT_EQ(Drain(dom0_socket), 0);
  EXPECT_EQ(Drain(guest_socket), 500) << "the guest's traffic crosses the same NIC";
  ::close(dom0_socket);
  ::close(guest_socket);
  EXPECT_EQ(installed_->Counters().at("dropped"), 1000);
}

TEST_F(NfInstallNetnsTest, IptablesInTheGuestCountsTheDropsAndIsRemovedAfterwards) {
  Install(IptablesDrop(), InstallAt::kGuest);
  const json d = installed_->Describe();
  EXPECT_EQ(d.at("kind"), "iptables");
  EXPECT_EQ(d.at("path"), "harness-direct");
  EXPECT_EQ(d.at("program"), "iptables_drop");
  EXPECT_EQ(d.at("rules"), json::array({"INPUT -p udp --dport 9999 -j DROP"}));
  EXPECT_THAT(Iptables("domu1", {"-S", "INPUT"}), HasSubstr("nfbench:iptables_drop:1"));

  const int dropped_socket = BindUdp(Host("domu1").netns, kDropPort);
  const int other_socket = BindUdp(Host("domu1").netns, kOtherPort);
  constexpr int kDrop = 10000;
  SendUdp(Host("loadgen").netns, Host("domu1").address, kDropPort, kDrop);
  SendUdp(Host("loadgen").netns, Host("domu1").address, kOtherPort, 100);
  EXPECT_EQ(Drain(dropped_socket), 0);
  EXPECT_EQ(Drain(other_socket), 100);
  ::close(dropped_socket);
  ::close(other_socket);

  const json c = installed_->Counters();
  EXPECT_EQ(c.at("dropped"), kDrop) << c.dump();
  EXPECT_EQ(c.at("packets"), kDrop) << c.dump();
  ASSERT_EQ(c.at("rules").size(), 1u);
  EXPECT_EQ(c["rules"][0].at("packets"), kDrop);
  EXPECT_EQ(c["rules"][0].at("bytes"), kDrop * (20 + 8 + 30)) << "IP length of each datagram";

  installed_.reset();
  EXPECT_THAT(Iptables("domu1", {"-S", "INPUT"}), Not(HasSubstr("nfbench")));
  EXPECT_THAT(Iptables("domu1", {"-S", "INPUT"}), Not(HasSubstr("9999")));
}

TEST_F(NfInstallNetnsTest, IptablesInDom0AndRulesAddedInOrderRemovedInReverse) {
  scenario::ProgramSpec p = IptablesDrop();
  p.iptables_rules.push_back("INPUT -p udp --dport 9998 -j DROP");
  Install(p, InstallAt::kDom0);
  const std::string listing = Iptables("dom0", {"-S", "INPUT"});
  const size_t first = listing.find("nfbench:iptables_drop:1");
  const size_t second = listing.find("nfbench:iptables_drop:2");
  ASSERT_NE(first, std::string::npos) << listing;
  ASSERT_NE(second, std::string::npos) << listing;
  EXPECT_LT(first, second) << "appended in order";

  SendUdp(Host("loadgen").netns, Host("dom0").address, 9998, 50);
  const json c = installed_->Counters();
  EXPECT_EQ(c["rules"][0].at("packets"), 0);
  EXPECT_EQ(c["rules"][1].at("packets"), 50);
  EXPECT_EQ(c.at("dropped"), 50);

  installed_.reset();
  EXPECT_THAT(Iptables("dom0", {"-S", "INPUT"}), Not(HasSubstr("nfbench")));
}

}  // namespace
}  // namespace nfb
