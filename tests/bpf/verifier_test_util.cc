#include "verifier_test_util.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fmt/core.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "nfb/bpf/objects.h"
#include "nfb/core/netns.h"
#include "nfb/core/subprocess.h"
#include "nfb/offload/verifier.h"

namespace nfb::offload::testing {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

LoadResult LoadProgram(bpf_prog_type type, std::span<const bpf_insn> insns, const char* license) {
  LoadResult result;
  std::vector<char> log(1 << 20);
  bpf_prog_load_opts opts{};
  opts.sz = sizeof(opts);
  opts.log_buf = log.data();
  opts.log_size = static_cast<uint32_t>(log.size());
  opts.log_level = 0;  // libbpf retries with a log when the load fails
  const int fd = bpf_prog_load(type, "nfb_verifier_t", license, insns.data(), insns.size(), &opts);
  if (fd < 0) {
    result.error = fd;
    result.log = log.data();
  } else {
    result.fd = Fd(fd);
  }
  return result;
}

std::vector<bpf_insn> Rewritten(std::span<const bpf_insn> insns, int ifindex) {
  return VerifyAndRewrite(insns, {.redirect_ifindex = ifindex}).insns;
}

LoadedEchoObject::LoadedEchoObject() {
  object_ = bpf_object__open_file(bpf::kIcmpEchoObjectPath, nullptr);
  if (object_ == nullptr) {
    ADD_FAILURE() << "cannot open " << bpf::kIcmpEchoObjectPath << ": " << std::strerror(errno);
    return;
  }
  if (const int err = bpf_object__load(object_); err != 0) {
    ADD_FAILURE() << "cannot load " << bpf::kIcmpEchoObjectPath << ": " << std::strerror(-err);
    return;
  }
  const bpf_program* tc = bpf_object__find_program_by_name(object_, "icmp_echo_tc");
  if (tc == nullptr) {
    ADD_FAILURE() << "no icmp_echo_tc in " << bpf::kIcmpEchoObjectPath;
    return;
  }
  tc_insns_.assign(bpf_program__insns(tc), bpf_program__insns(tc) + bpf_program__insn_cnt(tc));
}

LoadedEchoObject::~LoadedEchoObject() { bpf_object__close(object_); }

namespace {

constexpr char kNsPrefix[] = "nfbtest-verifier-";
constexpr auto kCommandTimeout = std::chrono::seconds(20);

void DeleteNamespace(const std::string& name) {
  RunProcess(ProcessSpec({"ip", "netns", "del", name}), kCommandTimeout);
}

// Removes namespaces of this suite left by runs whose process is gone (killed tests).
void RemoveStaleNamespaces() {
  DIR* dir = opendir("/run/netns");
  if (dir == nullptr) return;
  const std::regex ours(std::string(kNsPrefix) + R"((\d+)-.*)");
  std::vector<std::string> stale;
  while (const dirent* entry = readdir(dir)) {
    std::cmatch match;
    if (!std::regex_match(entry->d_name, match, ours)) continue;
    const long pid = std::stol(match[1]);
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.emplace_back(entry->d_name);
  }
  closedir(dir);
  for (const std::string& name : stale) DeleteNamespace(name);
}

}  // namespace

void ThreeNamespaces::SetUp() {
  NFB_SKIP_UNLESS_ROOT();
  RemoveStaleNamespaces();
  const std::string base = fmt::format("{}{}-", kNsPrefix, getpid());
  src_ns_ = base + "src";
  dom0_ns_ = base + "dom0";
  sink_ns_ = base + "sink";
  for (const std::string& ns : {src_ns_, dom0_ns_, sink_ns_}) {
    DeleteNamespace(ns);
    MustRun({"ip", "netns", "add", ns});
    MustRun({"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
             "net.ipv6.conf.default.disable_ipv6=1"},
            ns);
  }
  MustRun({"sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1"}, dom0_ns_);
  MustRun({"ip", "link", "add", kDom0In, "netns", dom0_ns_, "address", bpf::FormatMac(kDom0InMac),
           "type", "veth", "peer", "name", kSrcDev, "netns", src_ns_, "address",
           bpf::FormatMac(kSrcMac)});
  MustRun({"ip", "link", "add", kDom0Out, "netns", dom0_ns_, "address", bpf::FormatMac(kDom0OutMac),
           "type", "veth", "peer", "name", kSinkDev, "netns", sink_ns_, "address",
           bpf::FormatMac(kSinkMac)});
  MustRun({"ip", "addr", "add", std::string(kDom0Ip) + "/24", "dev", kDom0In}, dom0_ns_);
  MustRun({"ip", "addr", "add", "198.18.91.2/24", "dev", kSrcDev}, src_ns_);
  for (const char* dev : {kDom0In, kDom0Out, "lo"})
    MustRun({"ip", "link", "set", dev, "up"}, dom0_ns_);
  MustRun({"ip", "link", "set", kSrcDev, "up"}, src_ns_);
  MustRun({"ip", "link", "set", kSinkDev, "up"}, sink_ns_);
}

void ThreeNamespaces::TearDown() {
  for (const std::string& ns : {src_ns_, dom0_ns_, sink_ns_}) {
    if (!ns.empty()) DeleteNamespace(ns);
  }
}

void ThreeNamespaces::MustRun(std::vector<std::string> argv, const std::string& netns) {
  ProcessSpec spec(std::move(argv));
  spec.netns = netns;
  const ProcessResult result = RunProcess(spec, kCommandTimeout);
  ASSERT_TRUE(result.Succeeded()) << CommandLine(spec.argv) << " in '" << netns
                                  << "': " << result.Status() << "\n"
                                  << result.err << result.out;
}

int ThreeNamespaces::Ifindex(const std::string& netns, const std::string& dev) {
  const NetnsScope in(netns);
  return static_cast<int>(if_nametoindex(dev.c_str()));
}

uint64_t ThreeNamespaces::RxPackets(const std::string& netns, const std::string& dev) {
  ProcessSpec spec({"ip", "-j", "-s", "link", "show", "dev", dev});
  spec.netns = netns;
  const ProcessResult result = RunChecked(spec, kCommandTimeout);
  return nlohmann::json::parse(result.out).at(0).at("stats64").at("rx").at("packets");
}

uint64_t ThreeNamespaces::WaitRxPackets(const std::string& netns, const std::string& dev,
                                        uint64_t at_least) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  uint64_t packets = RxPackets(netns, dev);
  while (packets < at_least && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    packets = RxPackets(netns, dev);
  }
  return packets;
}

void ThreeNamespaces::SendFrames(const std::string& netns, const std::string& dev,
                                 std::span<const uint8_t> frame, int count) {
  Fd sock;
  int ifindex = 0;
  {
    const NetnsScope in(netns);  // the socket stays in the namespace it was created in
    sock = Fd(socket(AF_PACKET, SOCK_RAW, 0));
    ifindex = static_cast<int>(if_nametoindex(dev.c_str()));
  }
  ASSERT_TRUE(sock.valid()) << std::strerror(errno);
  ASSERT_NE(ifindex, 0) << dev;
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  std::memcpy(to.sll_addr, frame.data(), 6);
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(sendto(sock.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof(to)),
              static_cast<ssize_t>(frame.size()))
        << std::strerror(errno);
  }
}

int ThreeNamespaces::PingDom0(int count) {
  ProcessSpec spec({"ping", "-n", "-c", std::to_string(count), "-i", "0.2", "-W", "1", kDom0Ip});
  spec.netns = src_ns_;
  const ProcessResult result = RunProcess(spec, kCommandTimeout);
  std::smatch match;
  if (!std::regex_search(result.out, match, std::regex(R"((\d+) received)"))) return -1;
  return std::stoi(match[1]);
}

}  // namespace nfb::offload::testing
