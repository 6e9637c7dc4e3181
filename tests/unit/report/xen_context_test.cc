// The Xen context of a run (xen_context.h) from saved text: `xl info` captured in the Xen lab
// (tests/data/xen/xl_info_4.17_lab.txt) and a fake /sys + /proc tree like the lab's dom0.
#include "nfb/report/xen_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace nfb::report {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;

std::string LabXlInfo() {
  std::ifstream in(fs::path(NFB_SOURCE_DIR) / "tests/data/xen/xl_info_4.17_lab.txt");
  EXPECT_TRUE(in) << "missing fixture";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(XlInfoTest, ParsesTheLabsOutput) {
  std::map<std::string, std::string> info = ParseXlInfo(LabXlInfo());
  EXPECT_EQ(info.at("xen_version"), "4.17.7");
  EXPECT_EQ(info.at("release"), "6.1.0-56-amd64");
  EXPECT_EQ(info.at("virt_caps"), "pv hvm hap gnttab-v1 gnttab-v2");
  EXPECT_EQ(info.at("xen_caps"), "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64");
  EXPECT_EQ(info.at("xen_changeset"), "");                                // present, empty
  EXPECT_EQ(info.at("cc_compile_date"), "Wed Nov  4 16:52:28 UTC 2026");  // ':' in the value
  EXPECT_EQ(info.at("hw_caps"),
            "1fcbf3fd:f6d8320b:ec500800:00000077:00000005:018843a9:0000020c:00000000");
  EXPECT_EQ(info.size(), 34u);
}

TEST(XlInfoTest, IgnoresLinesThatAreNotKeys) {
  std::map<std::string, std::string> info = ParseXlInfo(
      "WARNING: something odd\nxen_version : 4.19.1\n  nr_cpus: 8\n"
      "no colon here\nBad Key : x\nxen_version : 9\n\xff\xfe : y\n");
  EXPECT_EQ(info.size(), 2u);
  EXPECT_EQ(info.at("xen_version"), "4.19.1");  // the first wins
  EXPECT_EQ(info.at("nr_cpus"), "8");
}

XenContextInputs LabInputs() {
  XenContextInputs in;
  in.xl_info = LabXlInfo();
  in.dmi = {{"sys_vendor", "QEMU"},
            {"product_name", "Standard PC (Q35 + ICH9, 2009)"},
            {"bios_vendor", "SeaBIOS"}};
  in.sys_hypervisor_type = "xen";
  in.cpu_model = "QEMU TCG CPU version 2.5+";
  in.guest_kernels = {{"domu1", "6.1.0-56-amd64"}};
  in.guest_kernel_errors = {{"domu2", "ssh: connect to host 198.18.0.12 port 22: timed out"}};
  return in;
}

TEST(XenContextTest, FromTheLabsSavedOutput) {
  json c = XenContextFromInputs(LabInputs());
  EXPECT_EQ(c["xen"]["version"], "4.17.7");
  EXPECT_EQ(c["xen"]["major"], 4);
  EXPECT_EQ(c["xen"]["minor"], 17);
  EXPECT_EQ(c["xen"]["extra"], ".7");
  EXPECT_EQ(c["xen"]["scheduler"], "credit2");
  EXPECT_EQ(c["xen"]["virt_caps"], json({"pv", "hvm", "hap", "gnttab-v1", "gnttab-v2"}));
  EXPECT_EQ(c["xen"]["caps"].size(), 4u);
  EXPECT_THAT(c["xen"]["commandline"].get<std::string>(), HasSubstr("dom0_max_vcpus=2"));
  EXPECT_EQ(c["host"]["nr_cpus"], 2);
  EXPECT_DOUBLE_EQ(c["host"]["cpu_mhz"].get<double>(), 2596.122);
  EXPECT_EQ(c["host"]["total_memory_mib"], 3071);
  EXPECT_EQ(c["dom0"]["kernel_release"], "6.1.0-56-amd64");
  EXPECT_EQ(c["dom0"]["hostname"], "dom0");
  EXPECT_EQ(c["guests"]["domu1"]["kernel_release"], "6.1.0-56-amd64");
  EXPECT_THAT(c["guests"]["domu2"]["error"].get<std::string>(), HasSubstr("timed out"));
  EXPECT_EQ(c["emulation"]["summary"], "xen under QEMU/TCG");
  EXPECT_EQ(c["emulation"]["machine"], "qemu");
  EXPECT_EQ(c["emulation"]["accelerator"], "tcg");
  EXPECT_EQ(c["emulation"]["evidence"]["dmi.sys_vendor"], "QEMU");
  EXPECT_EQ(c["xl_info"]["xen_scheduler"], "credit2");
  EXPECT_TRUE(c["errors"].empty());
}

TEST(XenContextTest, EmulationVerdicts) {
  XenContextInputs in = LabInputs();
  in.cpu_model = "AMD EPYC 7B13";  // QEMU with the host's CPU model: KVM, presumably
  EXPECT_EQ(DetectEmulation(in)["summary"], "xen under QEMU");
  EXPECT_EQ(DetectEmulation(in)["accelerator"], "unknown");
  in.dmi = {{"sys_vendor", "Dell Inc."}, {"product_name", "PowerEdge R640"}};
  EXPECT_EQ(DetectEmulation(in)["summary"], "xen on hardware");
  EXPECT_EQ(DetectEmulation(in)["accelerator"], nullptr);
  in.dmi = {{"sys_vendor", "VMware, Inc."}, {"product_name", "VMware7,1"}};
  EXPECT_EQ(DetectEmulation(in)["summary"], "xen under vmware");
  in.dmi.clear();
  EXPECT_EQ(DetectEmulation(in)["machine"], "unknown");
  in.sys_hypervisor_type.reset();
  in.xl_info.reset();
  EXPECT_EQ(DetectEmulation(in)["hypervisor"], "none");
}

TEST(XenContextTest, MissingXlIsRecordedNotThrown) {
  XenContextInputs in;
  in.xl_info_error = "cannot run 'xl': No such file or directory";
  json c = XenContextFromInputs(in);
  EXPECT_EQ(c["xen"]["version"], nullptr);
  EXPECT_EQ(c["dom0"]["kernel_release"], nullptr);
  ASSERT_EQ(c["errors"].size(), 1u);
  EXPECT_THAT(c["errors"][0].get<std::string>(), HasSubstr("No such file"));
}

// Reading on a host, with a fake root and `xl info` replaced by `cat` of the saved output.
TEST(XenContextTest, ReadsAFakeDom0) {
  fs::path root = fs::temp_directory_path() / ("nfb-xen-context-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "sys/class/dmi/id");
  fs::create_directories(root / "sys/hypervisor");
  fs::create_directories(root / "proc");
  std::ofstream(root / "sys/class/dmi/id/sys_vendor") << "QEMU\n";
  std::ofstream(root / "sys/class/dmi/id/product_name") << "Standard PC (Q35 + ICH9, 2009)\n";
  std::ofstream(root / "sys/hypervisor/type") << "xen\n";
  std::ofstream(root / "proc/cpuinfo")
      << "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: QEMU TCG CPU version 2.5+\n"
      << "processor\t: 1\nmodel name\t: QEMU TCG CPU version 2.5+\n";

  XenContextOptions o;
  o.root = root;
  o.xl_info_command = {"cat",
                       (fs::path(NFB_SOURCE_DIR) / "tests/data/xen/xl_info_4.17_lab.txt").string()};
  o.guests = {"domu1", "domu2", "domu3"};
  o.guest_kernel = [](const std::string& guest) -> std::string {
    if (guest == "domu2") throw std::runtime_error("ssh: connection refused");
    if (guest == "domu3") return "  \n";
    return "6.1.0-56-amd64\n";
  };
  json c = CollectXenContext(o);
  EXPECT_EQ(c["xen"]["version"], "4.17.7");
  EXPECT_EQ(c["emulation"]["summary"], "xen under QEMU/TCG");
  EXPECT_EQ(c["emulation"]["evidence"]["cpu_model"], "QEMU TCG CPU version 2.5+");
  EXPECT_EQ(c["guests"]["domu1"]["kernel_release"], "6.1.0-56-amd64");
  EXPECT_EQ(c["guests"]["domu2"]["error"], "ssh: connection refused");
  EXPECT_EQ(c["guests"]["domu3"]["error"], "uname -r printed nothing");

  o.xl_info_command = {"false"};
  o.guest_kernel = nullptr;
  c = CollectXenContext(o);
  EXPECT_THAT(c["errors"][0].get<std::string>(), HasSubstr("exit status 1"));
  EXPECT_THAT(c["guests"]["domu1"]["error"].get<std::string>(), HasSubstr("not collected"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace nfb::report
