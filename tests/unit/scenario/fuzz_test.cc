// Robustness: whatever the input, loading returns a scenario or throws InputError, nothing else
// (no crash, no other exception, no hang). Deterministic: fixed seeds, so a failure reproduces.
#include <gtest/gtest.h>

#include <random>

#include "nfb/core/error.h"
#include "nfb/scenario/loader.h"
#include "test_util.h"

namespace nfb::scenario {
namespace {

using testing::Fixture;
using testing::ReadFile;

// Loads `text`; returns false (and records a failure) if anything but InputError escapes.
// Counts the inputs that loaded in `*loaded_count`, when given.
bool LoadsOrInputError(const std::string& text, const LoadOptions& options = {},
                       int* loaded_count = nullptr) {
  try {
    const LoadedScenario loaded = LoadScenarioString(text, "fuzz.yaml", options);
    // What loads must load again from its resolved form, to the same scenario and bytes.
    LoadedScenario again;
    try {
      again = LoadScenarioString(loaded.resolved_yaml, "resolved.yaml");
    } catch (const InputError& e) {
      ADD_FAILURE() << "resolved form does not load: " << e.what() << "\n" << loaded.resolved_yaml;
      return false;
    }
    EXPECT_EQ(testing::Dump(again.scenario), testing::Dump(loaded.scenario)) << text;
    EXPECT_EQ(again.resolved_yaml, loaded.resolved_yaml) << text;
    if (loaded_count != nullptr) ++*loaded_count;
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("fuzz.yaml:", 0), 0u) << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception " << e.what() << " for input:\n" << text;
    return false;
  } catch (...) {
    ADD_FAILURE() << "unexpected non-std exception for input:\n" << text;
    return false;
  }
  return true;
}

TEST(FuzzTest, EveryPrefixOfTheScenario) {
  const std::string base = ReadFile(Fixture("valid/base.yaml"));
  // capture.host is the last required value; before it ends, no prefix is a scenario.
  const std::string last_required = "host: loadgen";
  ASSERT_NE(base.find(last_required), std::string::npos);
  const size_t complete_from = base.find(last_required) + last_required.size();
  for (size_t n = 0; n <= base.size(); ++n) {
    ASSERT_TRUE(LoadsOrInputError(base.substr(0, n))) << "prefix length " << n;
    bool loaded = true;
    try {
      LoadScenarioString(base.substr(0, n), "fuzz.yaml");
    } catch (const InputError&) {
      loaded = false;
    }
    if (n < complete_from) {
      EXPECT_FALSE(loaded) << "prefix length " << n;
    }
    if (n == base.size()) {
      EXPECT_TRUE(loaded);
    }
  }
}

TEST(FuzzTest, RandomMutations) {
  const std::string base = ReadFile(Fixture("valid/base.yaml"));
  // Characters that matter to YAML, plus a few that matter to our parsers.
  const std::string alphabet = ":-[]{},&*!|>'\"#%@?\n\t ~.0123456789/xX\x01\xff";
  std::mt19937 rng(20240601);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  int loaded = 0;
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(pick(4));
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = pick(text.size());
      switch (pick(5)) {
        case 0:  // replace a byte
          text[at] = alphabet[pick(alphabet.size())];
          break;
        case 1:  // insert a byte
          text.insert(at, 1, alphabet[pick(alphabet.size())]);
          break;
        case 2:  // delete a run
          text.erase(at, 1 + pick(20));
          break;
        case 3: {  // duplicate a run elsewhere (repeated keys, aliases, list items)
          const std::string run = text.substr(at, 1 + pick(60));
          text.insert(pick(text.size()), run);
          break;
        }
        case 4: {  // replace a digit run's neighbourhood with a huge or odd number
          static const char* kNumbers[] = {"99999999999999999999999",
                                           "-1",
                                           "0",
                                           "1e400",
                                           "nan",
                                           "0x10",
                                           "1_000",
                                           ".5",
                                           "+3",
                                           "-0"};
          text.insert(at, kNumbers[pick(std::size(kNumbers))]);
          break;
        }
      }
    }
    ASSERT_TRUE(LoadsOrInputError(text, {}, &loaded)) << "iteration " << iteration;
  }
  // Many mutations land in comments or keep values valid; those must exercise the success path.
  EXPECT_GT(loaded, 100);
}

TEST(FuzzTest, RandomOverrides) {
  const std::string base = ReadFile(Fixture("valid/base.yaml"));
  const char* paths[] = {"workload.count",
                         "workload",
                         "topology.guests.0",
                         "topology.guests[0].vcpus",
                         "topology.guests.9",
                         "configurations.0.install",
                         "report.reference",
                         "report.reference.XenBPF",
                         "capture",
                         "profiles",
                         "schema",
                         "a.b.c",
                         "topology.dom0.nic.mac",
                         "repetitions",
                         "order",
                         "",
                         ".",
                         "[0]",
                         "topology.guests[99999999999]",
                         "workload.count.x"};
  const char* values[] = {"",
                          "1",
                          "-1",
                          "[1",
                          "[1, 2]",
                          "{a: 1}",
                          "~",
                          "\"x\"",
                          "&a [*a]",
                          "99999999999999999999",
                          "{type: ping, from: loadgen}",
                          "02:00:00:00:00:01",
                          "198.18.0.5/24",
                          "'",
                          "- a\n- b",
                          "---\n---",
                          "!!str 5",
                          "*x",
                          "{",
                          "true"};
  std::mt19937 rng(7);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  int loaded = 0;
  for (int iteration = 0; iteration < 1000; ++iteration) {
    LoadOptions options;
    if (pick(4) == 0) options.profile = pick(2) == 0 ? "quick" : "nope";
    const int count = static_cast<int>(pick(3));
    for (int i = 0; i < count; ++i) {
      options.overrides.push_back(std::string(paths[pick(std::size(paths))]) + "=" +
                                  values[pick(std::size(values))]);
    }
    if (pick(4) == 0) options.repetitions = static_cast<int>(pick(3000)) - 1000;
    ASSERT_TRUE(LoadsOrInputError(base, options, &loaded)) << "iteration " << iteration;
  }
  EXPECT_GT(loaded, 50);
}

TEST(FuzzTest, HostileDocuments) {
  const std::string deep_flow = std::string(100000, '[') + std::string(100000, ']');
  std::string deep_block = "a:\n";
  for (int i = 1; i < 2000; ++i) deep_block += std::string(static_cast<size_t>(i), ' ') + "b:\n";
  std::string wide = "schema: 1\nname: x\nreport:\n  reference:\n";
  for (int i = 0; i < 50000; ++i) wide += "    k" + std::to_string(i) + ": 1\n";
  const std::string inputs[] = {
      "",
      "\n\n\n",
      "~",
      "[]",
      "{}",
      "!!binary aGVsbG8=",
      "a: &a [*a]",
      "a: &a {b: *a}",
      "&a [*a, *a]",
      "schema: 1\nname: x\ntopology: &t {dom0: *t}",
      deep_flow,
      deep_block,
      wide,
      std::string("schema: 1\0name: x", 17),
      "schema: 1\nname: \"\\xff\\u0000\"",
      "\xef\xbb\xbfschema: 1",
      "%YAML 1.2\n---\nschema: 1",
      "%TAG ! tag:x,2000:\n---\n!a schema: 1",
      "? |\n  block key\n: 1",
      "<<: {schema: 1}",
  };
  for (const std::string& input : inputs) {
    EXPECT_TRUE(LoadsOrInputError(input)) << input.substr(0, 80);
  }
}

}  // namespace
}  // namespace nfb::scenario
