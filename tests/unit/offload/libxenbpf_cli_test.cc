// xenbpf-load, the guest-side command, against an in-process bpfd with the in-memory backend:
// its output (text and JSON), --hold (the program stays loaded until a signal or the end of
// stdin, and stdin lines are commands), and its exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "libxenbpf_fixture.h"
#include "nfb/core/subprocess.h"

namespace {

namespace fs = std::filesystem;
using nfb::ProcessResult;
using nfb::ProcessSpec;
using nfb::xenbpf_testing::InProcessBpfd;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Shell-quotes one word for sh -c.
std::string Quote(const std::string& word) { return "'" + word + "'"; }

class XenbpfLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nfbtest-libxenbpf-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    object_ = dir_ / "prog.bpf.o";
    std::ofstream(object_, std::ios::binary) << "\x7f"
                                                "ELF fake object";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // argv after the program name, with --channel for domu1 first.
  std::vector<std::string> Argv(std::vector<std::string> args,
                                const std::string& domain = "domu1") const {
    std::vector<std::string> argv = {NFB_XENBPF_LOAD, "--channel", bpfd_.Channel(domain)};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  ProcessResult Run(std::vector<std::string> args, const std::string& domain = "domu1") {
    return nfb::RunProcess(ProcessSpec(Argv(std::move(args), domain)), 20s);
  }

  // Starts `load --hold` with stdout in a file and waits for its result line.
  nfb::Process StartHold(std::vector<std::string> extra = {}) {
    ProcessSpec spec(Argv({"load", object_.string(), "--hold"}));
    spec.argv.insert(spec.argv.end(), extra.begin(), extra.end());
    spec.stdout_path = dir_ / "hold.out";
    spec.stderr_path = dir_ / "hold.err";
    nfb::Process p = nfb::Process::Start(spec);
    for (int i = 0; i < 1000 && ReadFile(spec.stdout_path).find('\n') == std::string::npos; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    return p;
  }

  InProcessBpfd bpfd_;
  fs::path dir_, object_;
};

TEST_F(XenbpfLoadTest, LoadPrintsTheIdsAsTextOrJson) {
  ProcessResult r = Run({"load", object_.string()});
  ASSERT_TRUE(r.Succeeded()) << r.Status() << r.err;
  EXPECT_EQ(r.out, "program 1 maps counters=1 .rodata=2\n");
  ASSERT_TRUE(bpfd_.WaitDisconnected("domu1"));
  // Without --hold the program went with the connection.
  EXPECT_EQ(bpfd_.LivePrograms(), 0);

  r = Run({"--json", "load", object_.string(), "--program", "my_prog"});
  ASSERT_TRUE(r.Succeeded()) << r.Status() << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("program_id"), 1);
  ASSERT_EQ(j.at("maps").size(), 2u);
  EXPECT_EQ(j["maps"][0], (nlohmann::json{{"id", 1},
                                          {"name", "counters"},
                                          {"type", 1},
                                          {"key_size", 4},
                                          {"value_size", 8},
                                          {"max_entries", 16}}));
  EXPECT_EQ(j["maps"][1].at("name"), ".rodata");
}

TEST_F(XenbpfLoadTest, HoldKeepsTheProgramUntilSigterm) {
  nfb::Process p = StartHold();
  ASSERT_EQ(ReadFile(dir_ / "hold.out"), "program 1 maps counters=1 .rodata=2\n")
      << ReadFile(dir_ / "hold.err");
  // stdin is /dev/null here (as for the harness's processes): that does not end the hold.
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(p.running());
  EXPECT_EQ(bpfd_.Status("domu1").programs, 1u);
  EXPECT_EQ(bpfd_.Status("domu1").attached_program, 1u);
  const ProcessResult r = p.Terminate(5s);
  EXPECT_EQ(r.exit_code, 0) << r.Status() << ReadFile(dir_ / "hold.err");
  ASSERT_TRUE(bpfd_.WaitDisconnected("domu1"));
  EXPECT_EQ(bpfd_.LivePrograms(), 0);
  EXPECT_EQ(bpfd_.LiveMaps(), 0);
}

TEST_F(XenbpfLoadTest, HoldRunsCommandsFromStdinUntilItEnds) {
  const std::string input =
      "map update 1 07000000 2a00000000000000\\n"
      "map update 1 07000000 2b00000000000000 --flags noexist\\n"
      "map lookup 1 07000000\\n"
      "map lookup 1 08000000\\n"
      "\\n"
      "map info 2\\n"
      "stats\\n"
      "bogus\\n"
      "map delete 1 07000000\\n"
      "unload 1\\n";
  std::vector<std::string> argv = Argv({"load", object_.string(), "--hold"});
  std::string command = "printf '" + input + "' |";
  for (const std::string& word : argv) command += " " + Quote(word);
  const ProcessResult r = nfb::RunProcess(ProcessSpec({"sh", "-c", command}), 20s);
  ASSERT_TRUE(r.Succeeded()) << r.Status() << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 10u) << r.out;
  EXPECT_EQ(lines[0], "program 1 maps counters=1 .rodata=2");
  EXPECT_EQ(lines[1], "ok");
  EXPECT_THAT(lines[2], HasSubstr("error -17 update map 1: update in map 1"));
  EXPECT_EQ(lines[3], "2a00000000000000");
  EXPECT_THAT(lines[4], HasSubstr("error -2 lookup in map 1"));
  EXPECT_EQ(lines[5], "map 2 .rodata type 2 key 4 value 8 entries 1");
  EXPECT_THAT(lines[6], HasSubstr("packets 0 bytes 0 cpu_ns 0 cost_ps 20000 method "));
  EXPECT_THAT(lines[7], HasSubstr("error -22"));
  EXPECT_EQ(lines[8], "ok");
  EXPECT_EQ(lines[9], "unloaded 1");
  ASSERT_TRUE(bpfd_.WaitDisconnected("domu1"));
  EXPECT_EQ(bpfd_.LivePrograms(), 0);
}

TEST_F(XenbpfLoadTest, HoldAnswersInJsonAndStopsAtQuit) {
  std::vector<std::string> argv = Argv({"--json", "load", object_.string(), "--hold"});
  std::string command = "printf 'map lookup 1 07000000\\nquit\\nunload 1\\n' |";
  for (const std::string& word : argv) command += " " + Quote(word);
  const ProcessResult r = nfb::RunProcess(ProcessSpec({"sh", "-c", command}), 20s);
  ASSERT_TRUE(r.Succeeded()) << r.Status() << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;  // nothing after quit ran
  EXPECT_EQ(nlohmann::json::parse(lines[0]).at("program_id"), 1);
  const nlohmann::json error = nlohmann::json::parse(lines[1]).at("error");
  EXPECT_EQ(error.at("code"), -ENOENT);
  EXPECT_THAT(error.at("message").get<std::string>(), HasSubstr("lookup in map 1"));
}

TEST_F(XenbpfLoadTest, HoldEndsWithExit4WhenBpfdEndsTheSession) {
  nfb::Process p = StartHold();
  ASSERT_THAT(ReadFile(dir_ / "hold.out"), HasSubstr("program 1"));
  nfb::bpfd::ControlClient(bpfd_.control_path()).Unregister("domu1");
  const std::optional<ProcessResult> r = p.Wait(5s);
  ASSERT_TRUE(r.has_value()) << "xenbpf-load noticed the end of its session";
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_THAT(ReadFile(dir_ / "hold.err"), HasSubstr("bpfd ended the session"));
}

TEST_F(XenbpfLoadTest, LoadSetsMapEntriesBeforePrintingItsResult) {
  // A decimal key is a 4-byte index in host order; 0x-prefixed keys are bytes in memory order.
  std::vector<std::string> argv =
      Argv({"load", object_.string(), "--set", "counters:7=2a00000000000000", "--set",
            "counters:0x08000000=0x2b00000000000000", "--hold"});
  std::string command = "printf 'map lookup 1 07000000\\nmap lookup 1 08000000\\n' |";
  for (const std::string& word : argv) command += " " + Quote(word);
  const ProcessResult r = nfb::RunProcess(ProcessSpec({"sh", "-c", command}), 20s);
  ASSERT_TRUE(r.Succeeded()) << r.Status() << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0],
            "program 1 maps counters=1 .rodata=2 set counters:07000000=2a00000000000000 set "
            "counters:08000000=2b00000000000000");
  EXPECT_EQ(lines[1], "2a00000000000000");
  EXPECT_EQ(lines[2], "2b00000000000000");

  const ProcessResult j = Run({"--json", "load", object_.string(), "--set", "counters:7=01"
                                                                            "00000000000000"});
  ASSERT_TRUE(j.Succeeded()) << j.Status() << j.err;
  EXPECT_EQ(nlohmann::json::parse(j.out).at("set"),
            nlohmann::json::parse(R"([{"map_id":1,"map":"counters","key":"07000000",)"
                                  R"("value":"0100000000000000"}])"));
}

TEST_F(XenbpfLoadTest, LoadWithABadSettingLeavesNothingLoaded) {
  // Malformed: refused before anything is loaded.
  for (const char* bad : {"counters", "counters:7", ":7=00", "counters:x=00", "counters:7=0g",
                          "counters:4294967296=00", "counters:7="}) {
    SCOPED_TRACE(bad);
    const ProcessResult r = Run({"load", object_.string(), "--set", bad});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("--set"));
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  // Well-formed but not fitting the object: the program is unloaded again.
  const std::pair<const char*, const char*> unfit[] = {
      {"nosuchmap:0=00", "the object has no map 'nosuchmap' (maps: counters, .rodata)"},
      {"counters:0x0700=2a00000000000000", "the key has 2 bytes, the map takes 4"},
      {"counters:7=2a", "the value has 1 bytes, the map takes 8"}};
  for (const auto& [bad, message] : unfit) {
    SCOPED_TRACE(bad);
    const ProcessResult r = Run({"load", object_.string(), "--set", bad, "--hold"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(message));
    EXPECT_TRUE(r.out.empty()) << r.out;
    ASSERT_TRUE(bpfd_.WaitDisconnected("domu1"));
    EXPECT_EQ(bpfd_.LivePrograms(), 0);
  }
}

TEST_F(XenbpfLoadTest, ExitCodes) {
  // 2: bad input.
  ProcessResult r = Run({});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = Run({"load", (dir_ / "missing.bpf.o").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot open"));
  r = Run({"map", "lookup", "1", "0g"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("not hex"));
  r = Run({"map", "update", "1", "00", "00", "--flags", "sometimes"});
  EXPECT_EQ(r.exit_code, 2);
  const fs::path big = dir_ / "big.bpf.o";
  std::ofstream(big, std::ios::binary) << std::string(70000, 'x');
  r = Run({"load", big.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("the limit is 65536"));

  // 3: cannot connect (nobody listens; a second session while one is held).
  r = nfb::RunProcess(
      ProcessSpec({NFB_XENBPF_LOAD, "--channel", "nfbtest-libxenbpf-nobody", "stats"}), 20s);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("Connection refused"));
  {
    nfb::Process holder = StartHold();
    r = Run({"stats"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_THAT(r.err, HasSubstr("another session of this domain is open"));
    holder.Terminate(5s);
  }
  ASSERT_TRUE(bpfd_.WaitDisconnected("domu1"));

  // 4: bpfd refused.
  const fs::path reject = dir_ / "reject.bpf.o";
  std::ofstream(reject, std::ios::binary) << "REJECT";
  r = Run({"load", reject.string()});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("bpf_tail_call is not allowed"));
  r = Run({"unload", "5"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("no program with id 5"));

  // 0: stats work on a fresh session (the domain's totals survive sessions).
  r = Run({"--json", "stats"});
  ASSERT_TRUE(r.Succeeded()) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("cost_ps"), 20000);
}

}  // namespace
