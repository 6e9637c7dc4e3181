// Helpers shared by the scenario tests.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "nfb/scenario/scenario.h"

namespace nfb::scenario::testing {

// NFB_SOURCE_DIR/tests/fixtures/scenario/<name>
std::filesystem::path Fixture(const std::string& name);

std::string ReadFile(const std::filesystem::path& path);

// The message of the InputError `fn` throws; "<no error>" when it returns, and
// "<not an InputError: ...>" for any other exception, so a test can compare one string.
std::string InputErrorOf(const std::function<void()>& fn);

// Every field of `s`, one per line, so two scenarios compare (and differ readably) as strings.
std::string Dump(const Scenario& s);

}  // namespace nfb::scenario::testing
