// `nfbench doctor`: what this host offers the harness. The network checks run in a scratch pair
// of namespaces that is removed again whatever happens.
#include <bpf/bpf.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "nfb/bpf/icmp_echo.h"
#include "nfb/bpf/attach.h"
#include "nfb/collectors/pcap_capture.h"
#include "nfb/collectors/timestamp_resolution.h"
#include "nfb/core/error.h"
#include "nfb/core/netns.h"
#include "nfb/core/subprocess.h"
#include "nfb/platform/xen_platform.h"
#include "nfb/report/context.h"
#include "nfb/runner/prerequisites.h"

namespace nfb::runner {
namespace {

namespace fs = std::filesystem;

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

ProcessResult Run(std::vector<std::string> argv, const std::string& netns = {}) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.netns = netns;
  return RunProcess(spec, std::chrono::seconds(20));
}

void Must(std::vector<std::string> argv, const std::string& netns = {}) {
  ProcessResult r = Run(argv, netns);
  if (r.exit_code != 0) throw RunError(CommandLine(argv) + ": " + FirstLine(r.err));
}

// Two namespaces joined by a veth pair (a0 <-> b0), 198.19.255.1/2, deleted on destruction.
class ScratchPair {
 public:
  ScratchPair()
      : a_(fmt::format("nfbdoctor-{}-a", ::getpid())), b_(fmt::format("nfbdoctor-{}-b", ::getpid())) {
    Must({"ip", "netns", "add", a_});
    Must({"ip", "netns", "add", b_});
    Must({"ip", "link", "add", "a0", "netns", a_, "address", "02:00:00:00:fd:01", "type", "veth",
          "peer", "b0", "netns", b_, "address", "02:00:00:00:fd:02"});
    Must({"ip", "addr", "add", "198.19.255.1/24", "dev", "a0"}, a_);
    Must({"ip", "addr", "add", "198.19.255.2/24", "dev", "b0"}, b_);
    Must({"ip", "link", "set", "a0", "up"}, a_);
    Must({"ip", "link", "set", "b0", "up"}, b_);
  }
  ~ScratchPair() {
    Run({"ip", "netns", "del", a_});
    Run({"ip", "netns", "del", b_});
  }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }

 private:
  std::string a_, b_;
};

DoctorCheck Tool(const std::string& name, std::vector<std::string> version_argv, bool required,
                 const std::string& why) {
  DoctorCheck c{name, false, required, ""};
  std::string path = FindExecutable(version_argv[0]);
  if (path.empty()) {
    c.detail = "not found (" + why + ")";
    return c;
  }
  std::optional<std::string> version = report::ToolVersionLine(std::move(version_argv));
  c.ok = version.has_value();
  c.detail = path + ": " + version.value_or("found but cannot run");
  return c;
}

}  // namespace

std::vector<DoctorCheck> RunDoctor() {
  std::vector<DoctorCheck> checks;
  checks.push_back({"root", ::geteuid() == 0, true,
                    ::geteuid() == 0 ? "running as root" : "run as root"});

  {
    DoctorCheck c{"bpf", false, true, ""};
    int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nfb_doctor", 4, 4, 1, nullptr);
    if (fd >= 0) {
      c.ok = true;
      c.detail = "bpf(2) creates maps";
      ::close(fd);
    } else {
      c.detail = fmt::format("bpf(2) failed: {}", strerror(-fd));
    }
    checks.push_back(c);
  }
  checks.push_back({"btf", fs::exists("/sys/kernel/btf/vmlinux"), true,
                    fs::exists("/sys/kernel/btf/vmlinux") ? "/sys/kernel/btf/vmlinux"
                                                          : "no kernel BTF"});
  bool v2 = fs::exists("/sys/fs/cgroup/cgroup.controllers");
  bool cpuset = v2 || fs::exists("/sys/fs/cgroup/cpuset/cpuset.cpus");
  checks.push_back({"cgroups", cpuset, true,
                    fmt::format("{}; cpuset {}", v2 ? "v2" : "v1", cpuset ? "available" : "missing")});
  checks.push_back({"pktgen", fs::exists("/proc/net/pktgen"), false,
                    fs::exists("/proc/net/pktgen")
                        ? "kernel packet generator present"
                        : "no /proc/net/pktgen (module not loaded); user-space generators are used"});

  if (::geteuid() == 0) {
    try {
      ScratchPair pair;
      checks.push_back({"netns+veth", true, true, "created a veth pair between two namespaces"});
      {
        DoctorCheck tc{"tc clsact", false, true, ""}, xdp{"xdp on veth", false, false, ""};
        try {
          bpf::IcmpEchoProgram echo;
          NetnsScope in(pair.a());
          { auto t = bpf::TcIngressAttachment::Attach("a0", echo.tc_fd()); }
          tc = {"tc clsact", true, true, "icmp_echo attached at tc ingress and detached"};
          try {
            auto x = bpf::XdpAttachment::Attach("a0", echo.xdp_fd());
            xdp = {"xdp on veth", true, false, "icmp_echo attached at XDP and detached"};
          } catch (const std::exception& e) {
            xdp.detail = e.what();
          }
        } catch (const std::exception& e) {
          tc.detail = e.what();
        }
        checks.push_back(tc);
        checks.push_back(xdp);
      }
      {
        DoctorCheck ts{"timestamps", false, true, ""};
        try {
          collectors::ResolutionProbeOptions probe;
          probe.netns = pair.a();
          probe.interface = "a0";
          probe.sender_netns = pair.b();
          probe.sender_interface = "b0";
          probe.output = fs::temp_directory_path() / fmt::format("nfbdoctor-{}.pcap", ::getpid());
          collectors::ResolutionProbeResult r = collectors::ProbeTimestampResolution(probe);
          fs::remove(probe.output);
          std::string offered;
          for (const auto& t : r.capture.timestamp_types_offered) offered += " " + t;
          ts.ok = true;
          ts.detail = fmt::format(
              "offered on veth:{}; used {}{}, measured resolution {:g} ns ({}, {} packets)",
              offered.empty() ? " (none listed)" : offered, r.capture.timestamp_type,
              r.capture.nanosecond ? " (ns precision)" : " (us precision)",
              r.resolution.resolution_ns, r.resolution.method, r.resolution.packets);
        } catch (const std::exception& e) {
          ts.detail = e.what();
        }
        checks.push_back(ts);
      }
    } catch (const std::exception& e) {
      checks.push_back({"netns+veth", false, true, e.what()});
    }
  }

  checks.push_back(Tool("ip", {"ip", "-V"}, true, "iproute2"));
  checks.push_back(Tool("ping", {"ping", "-V"}, true, "iputils-ping"));
  checks.push_back(Tool("ethtool", {"ethtool", "--version"}, true, "ethtool"));
  checks.push_back(Tool("python3", {"/usr/bin/python3", "-c",
                                    "import matplotlib, numpy; print('matplotlib', matplotlib.__version__)"},
                        true, "python3-matplotlib, for figures"));
  checks.push_back(Tool("tcpdump", {"tcpdump", "--version"}, false, "tcpdump, for inspecting captures"));
  checks.push_back(Tool("tshark", {"tshark", "--version"}, false, "tshark, for cross-checks"));
  checks.push_back(Tool("iperf3", {"iperf3", "--version"}, false, "iperf3, flood scenarios"));
  checks.push_back(Tool("trafgen", {"trafgen", "--version"}, false, "netsniff-ng, flood scenarios"));
  checks.push_back(Tool("bpftool", {"bpftool", "version"}, false, "bpftool, for inspection"));
  checks.push_back(Tool("xl", {"xl", "info"}, false, "Xen toolstack: the xen platform"));
  {
    // What `nfbench run --platform xen` needs besides the above (not required by netns).
    const std::vector<std::string> problems = platform::XenHostProblems();
    std::string detail = "dom0 of a Xen host: `--platform xen` can run";
    if (!problems.empty()) {
      detail = "--platform xen cannot run here; missing: " + problems.front();
      for (size_t i = 1; i < problems.size(); ++i) detail += "; " + problems[i];
    } else {
      const platform::XenPlatformOptions o = platform::XenPlatformOptions::FromEnvironment();
      if (o.guest_kernel.empty() || (o.guest_ramdisk.empty() && o.guest_ramdisk_command.empty())) {
        detail += " once NFB_XEN_GUEST_KERNEL and NFB_XEN_GUEST_RAMDISK(_COMMAND) are set";
      }
    }
    checks.push_back({"xen dom0", problems.empty(), false, detail});
  }
  checks.push_back(Tool("xentop", {"xentop", "-V"}, false, "Xen: per-domain CPU"));
  return checks;
}

}  // namespace nfb::runner
