#include "iptables_rules.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <utility>

#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/subprocess.h"

namespace nfb::nf {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::vector<std::string> SplitWords(std::string_view text) {
  std::vector<std::string> words;
  std::istringstream in{std::string(text)};
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

bool IsUnsigned(const std::string& word) {
  return !word.empty() && word.size() <= 20 &&
         word.find_first_not_of("0123456789") == std::string::npos;
}

// The comment names the program; keep it to characters that read well in `iptables -L`.
std::string CommentName(const std::string& name) {
  std::string out;
  for (const char c : name.substr(0, 64)) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '-' || c == '.';
    out += plain ? c : '_';
  }
  return out;
}

// iptables lives in /usr/sbin, which a user's PATH may lack.
std::string FindIptables() {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/local/sbin";
  std::istringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const std::filesystem::path candidate = std::filesystem::path(dir) / "iptables";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  throw PrerequisiteError(
      "the 'iptables' command is missing (Debian: apt-get install iptables; "
      "scripts/install-deps.sh installs it)");
}

class IptablesInstall : public InstalledFunction {
 public:
  IptablesInstall(platform::Platform& platform, std::string host, scenario::InstallAt at,
                  const scenario::ProgramSpec& program)
      : platform_(platform),
        host_(std::move(host)),
        netns_(platform.Host(host_).netns),
        at_(at),
        program_(program.name),
        rules_(PrepareIptablesRules(program)),
        // A host reached over SSH (a Xen guest) runs its own iptables from its PATH.
        iptables_(platform.Host(host_).IsLocal() ? FindIptables() : "iptables") {
    try {
      for (const IptablesRule& rule : rules_) {
        std::vector<std::string> argv = {iptables_, "-w", "-A"};
        argv.insert(argv.end(), rule.args.begin(), rule.args.end());
        RunChecked(platform_.Command(host_, argv), 30s);
        ++appended_;
      }
    } catch (...) {
      Remove();
      throw;
    }
    log::Debug("iptables: appended {} rule(s) of {} in {}", appended_, program_, host_);
  }

  ~IptablesInstall() override { Remove(); }

  json Describe() const override {
    json rules = json::array();
    json comments = json::array();
    for (const IptablesRule& rule : rules_) {
      rules.push_back(rule.text);
      comments.push_back(rule.comment);
    }
    return {{"at", scenario::ToString(at_)},
            {"program", program_},
            {"kind", "iptables"},
            {"rules", rules},
            {"comments", comments},
            {"host", host_},
            {"netns", netns_},
            {"path", "harness-direct"}};
  }

  // {"rules": [{"rule", "packets", "bytes"}...], "packets", "bytes"} summed over the rules, and
  // "dropped", the packets of the rules whose target is DROP, when there are such rules.
  json Counters() const override {
    std::map<std::pair<std::string, std::string>, std::string> listings;  // (table, chain)
    json rules = json::array();
    uint64_t packets = 0, bytes = 0, dropped = 0;
    bool drops = false;
    for (const IptablesRule& rule : rules_) {
      auto [listing, added] = listings.try_emplace({rule.table, rule.chain});
      if (added) {
        listing->second = RunChecked(platform_.Command(host_, {iptables_, "-w", "-t", rule.table,
                                                               "-L", rule.chain, "-v", "-n", "-x"}),
                                     30s)
                              .out;
      }
      const std::optional<IptablesCounter> c = FindIptablesCounter(listing->second, rule.comment);
      if (!c) {
        throw RunError(fmt::format("iptables rule '{}' ({}) is no longer in chain {} of {}",
                                   rule.text, rule.comment, rule.chain, host_));
      }
      rules.push_back({{"rule", rule.text}, {"packets", c->packets}, {"bytes", c->bytes}});
      packets += c->packets;
      bytes += c->bytes;
      const std::vector<std::string> words = SplitWords(rule.text);
      for (size_t i = 0; i + 1 < words.size(); ++i) {
        if ((words[i] == "-j" || words[i] == "--jump") && words[i + 1] == "DROP") {
          dropped += c->packets;
          drops = true;
        }
      }
    }
    json counters = {{"rules", rules}, {"packets", packets}, {"bytes", bytes}};
    if (drops) counters["dropped"] = dropped;
    return counters;
  }

 private:
  // Deletes the rules appended so far, last first. Never throws.
  void Remove() noexcept {
    while (appended_ > 0) {
      const IptablesRule& rule = rules_[--appended_];
      try {
        std::vector<std::string> argv = {iptables_, "-w", "-D"};
        argv.insert(argv.end(), rule.args.begin(), rule.args.end());
        const ProcessResult r = RunProcess(platform_.Command(host_, argv), 30s);
        if (!r.Succeeded()) {
          log::Warn("iptables: could not remove '{}' from {} ({}): {}", rule.text, host_,
                    r.Status(), r.err);
        }
      } catch (const std::exception& e) {
        log::Warn("iptables: could not remove '{}' from {}: {}", rule.text, host_, e.what());
      }
    }
  }

  platform::Platform& platform_;
  std::string host_, netns_;
  scenario::InstallAt at_;
  std::string program_;
  std::vector<IptablesRule> rules_;
  std::string iptables_;
  size_t appended_ = 0;
};

}  // namespace

std::vector<IptablesRule> PrepareIptablesRules(const scenario::ProgramSpec& program) {
  std::vector<IptablesRule> rules;
  for (size_t i = 0; i < program.iptables_rules.size(); ++i) {
    IptablesRule rule;
    rule.text = program.iptables_rules[i];
    const std::vector<std::string> words = SplitWords(rule.text);
    if (words.empty() || words[0].front() == '-') {
      throw InputError(fmt::format(
          "program '{}': iptables rule {} ('{}') must start with a chain name, e.g. 'INPUT -p udp "
          "--dport 9999 -j DROP' (it is appended with iptables -A)",
          program.name, i + 1, rule.text));
    }
    rule.chain = words[0];
    rule.table = "filter";
    for (size_t w = 1; w < words.size(); ++w) {
      if (words[w] == "-t" || words[w] == "--table") {
        if (w + 1 == words.size()) {
          throw InputError(
              fmt::format("program '{}': iptables rule {} ('{}') names no table after {}",
                          program.name, i + 1, rule.text, words[w]));
        }
        rule.table = words[w + 1];
      } else if (words[w].rfind("--table=", 0) == 0) {
        rule.table = words[w].substr(8);
      }
    }
    rule.comment = fmt::format("nfbench:{}:{}", CommentName(program.name), i + 1);
    rule.args = {rule.chain, "-m", "comment", "--comment", rule.comment};
    rule.args.insert(rule.args.end(), words.begin() + 1, words.end());
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::optional<IptablesCounter> FindIptablesCounter(std::string_view listing,
                                                   const std::string& comment) {
  const std::string marker = "/* " + comment + " */";
  size_t first_counter = 0;  // 1 with --line-numbers (a "num" column first)
  std::istringstream in{std::string(listing)};
  for (std::string line; std::getline(in, line);) {
    const std::vector<std::string> words = SplitWords(line);
    if (!words.empty() && (words[0] == "num" || words[0] == "pkts")) {
      first_counter = words[0] == "num" ? 1 : 0;
      continue;
    }
    if (line.find(marker) == std::string::npos) continue;
    if (words.size() < first_counter + 2 || !IsUnsigned(words[first_counter]) ||
        !IsUnsigned(words[first_counter + 1])) {
      throw RunError(
          fmt::format("cannot read the counters of iptables rule {} from '{}'", comment, line));
    }
    try {
      return IptablesCounter{.packets = std::stoull(words[first_counter]),
                             .bytes = std::stoull(words[first_counter + 1])};
    } catch (const std::out_of_range&) {
      throw RunError(fmt::format("iptables rule {}: counters out of range in '{}'", comment, line));
    }
  }
  return std::nullopt;
}

std::unique_ptr<InstalledFunction> InstallIptables(platform::Platform& platform,
                                                   const std::string& host, scenario::InstallAt at,
                                                   const scenario::ProgramSpec& program) {
  return std::make_unique<IptablesInstall>(platform, host, at, program);
}

}  // namespace nfb::nf
