// Loading: text -> tree -> (profile, overrides, --repetitions) -> decode -> validate -> emit.
#include "nfb/scenario/loader.h"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "decode.h"
#include "nfb/core/error.h"
#include "tree.h"

namespace nfb::scenario {
namespace {

using internal::Context;
using internal::Entry;
using internal::Node;
using internal::Origin;
using internal::Path;

constexpr std::uintmax_t kMaxFileBytes = 16 << 20;  // scenarios are a few KiB

// One component of a key path: `guests` or `0` (a key, or an index if the node is a list) or
// `[0]` (only an index).
struct Step {
  std::string text;
  bool bracket = false;
  size_t index = 0;
};

bool ParseIndex(std::string_view text, size_t& index) {
  if (text.empty() || text.size() > 9) return false;
  index = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  return true;
}

// "topology.guests.0.vcpus" or "topology.guests[0].vcpus".
std::vector<Step> ParseKeyPath(std::string_view text, const Origin& where, const Context& ctx) {
  auto invalid = [&](std::string_view why) {
    ctx.Fail(where, Path(),
             fmt::format("invalid key path '{}': {}", internal::Excerpt(text, 200), why));
  };
  if (text.empty()) invalid("it is empty");
  std::vector<Step> steps;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t dot = std::min(text.find('.', start), text.size());
    std::string_view part = text.substr(start, dot - start);
    const size_t bracket = part.find('[');
    std::string_view key = part.substr(0, bracket);
    if (key.empty()) invalid("a component is empty");
    steps.push_back(Step{std::string(key)});
    while (bracket != std::string_view::npos && !part.empty()) {
      part = part.substr(part.find('['));
      const size_t close = part.find(']');
      Step step;
      step.bracket = true;
      if (close == std::string_view::npos || !ParseIndex(part.substr(1, close - 1), step.index)) {
        invalid("expected [<index>]");
      }
      step.text = std::string(part.substr(0, close + 1));
      steps.push_back(step);
      part = part.substr(close + 1);
      if (!part.empty() && part[0] != '[') invalid("expected '.' or '[' after ']'");
    }
    start = dot + 1;
  }
  return steps;
}

// Sets the node at `path_text` to `value`, creating missing map keys (an unknown one is then
// reported by the decoder, blamed on `where`). Throws InputError when the path runs into a
// scalar or past the end of a list.
void ApplySetting(Node& root, std::string_view path_text, Node value, const Origin& where,
                  const Context& ctx) {
  const std::vector<Step> steps = ParseKeyPath(path_text, where, ctx);
  if (!steps[0].bracket && steps[0].text == "profiles") {
    ctx.Fail(where, Path().Key("profiles"), "cannot be set by a profile or an override");
  }
  Node* node = &root;
  Path path;
  for (const Step& step : steps) {
    // An empty section (`capture:`) is a map that has no keys yet.
    if (node->IsNull() && !step.bracket) node->kind = Node::Kind::kMap;
    if (node->IsMap()) {
      if (step.bracket) {
        ctx.Fail(where, path, fmt::format("is a map, not a list, so it has no {}", step.text));
      }
      Entry* entry = node->FindEntry(step.text);
      if (entry == nullptr) {
        Entry added;
        added.key = step.text;
        added.key_origin = where;
        added.value.origin = where;
        node->entries.push_back(std::move(added));
        entry = &node->entries.back();
      }
      path = path.Key(step.text);
      node = &entry->value;
    } else if (node->IsSequence()) {
      size_t index = step.index;
      if (!step.bracket && !ParseIndex(step.text, index)) {
        ctx.Fail(where, path,
                 fmt::format("is a list; '{}' is not an index", internal::Excerpt(step.text)));
      }
      if (index >= node->items.size()) {
        ctx.Fail(where, path.Index(index),
                 fmt::format("index out of range (the list has {} item{})", node->items.size(),
                             node->items.size() == 1 ? "" : "s"));
      }
      path = path.Index(index);
      node = &node->items[index];
    } else {
      ctx.Fail(where, path,
               fmt::format("is {}, not a map or a list, so it has no '{}'",
                           internal::Describe(*node), internal::Excerpt(step.text)));
    }
  }
  *node = std::move(value);
}

void ApplyProfile(Node& doc, const internal::Profile& profile, const Context& ctx) {
  const auto via = std::make_shared<const std::string>(
      fmt::format("profile '{}'", internal::Excerpt(profile.name)));
  for (const internal::ProfileSetting& setting : profile.settings) {
    Origin where = setting.key_origin;
    where.via = via;
    Node value = *setting.value;
    internal::SetVia(value, via);
    ApplySetting(doc, setting.path, std::move(value), where, ctx);
  }
}

void ApplyOverride(Node& doc, const std::string& text, const Context& ctx) {
  const Origin where{0, 0,
                     std::make_shared<const std::string>(
                         fmt::format("override '{}'", internal::Excerpt(text, 200)))};
  const size_t eq = text.find('=');
  if (eq == std::string::npos) ctx.Fail(where, Path(), "expected key.path=value");
  std::string_view path_text = std::string_view(text).substr(0, eq);
  while (!path_text.empty() && path_text.back() == ' ') path_text.remove_suffix(1);
  while (!path_text.empty() && path_text.front() == ' ') path_text.remove_prefix(1);
  // Where the value goes, for messages about the value itself (a duplicate key inside it).
  Path target;
  for (const Step& step : ParseKeyPath(path_text, where, ctx)) {
    size_t index = step.index;
    target =
        step.bracket || ParseIndex(step.text, index) ? target.Index(index) : target.Key(step.text);
  }
  Node value = internal::ParseValue(std::string_view(text).substr(eq + 1), where, target, ctx);
  ApplySetting(doc, path_text, std::move(value), where, ctx);
}

Scenario DecodeAndValidate(const Node& doc, const Context& ctx) {
  Scenario scenario = internal::DecodeScenario(doc, ctx);
  internal::ValidateScenario(scenario, doc, ctx);
  return scenario;
}

}  // namespace

LoadedScenario LoadScenarioString(std::string_view text, std::string_view source_name,
                                  const LoadOptions& options) {
  const Context ctx{std::string(source_name)};
  const Node base = internal::ParseDocument(text, ctx);
  // The file as written must stand on its own, and so must each profile on top of it, even the
  // ones this run does not select: a broken profile is a broken file.
  DecodeAndValidate(base, ctx);
  const std::vector<internal::Profile> profiles = internal::ReadProfiles(base, ctx);
  const internal::Profile* selected = nullptr;
  std::vector<std::string> names;
  for (const internal::Profile& profile : profiles) {
    Node copy = base;
    ApplyProfile(copy, profile, ctx);
    DecodeAndValidate(copy, ctx);
    if (profile.name == options.profile) selected = &profile;
    names.push_back(profile.name);
  }
  if (!options.profile.empty() && selected == nullptr) {
    const Origin where{0, 0,
                       std::make_shared<const std::string>(
                           fmt::format("--profile '{}'", internal::Excerpt(options.profile)))};
    ctx.Fail(where, Path(),
             names.empty()
                 ? std::string("unknown profile (the file defines no profiles)")
                 : "unknown profile (the file defines: " + internal::JoinNames(names) + ")");
  }

  Node doc = base;
  if (selected != nullptr) ApplyProfile(doc, *selected, ctx);
  for (const std::string& override_text : options.overrides) {
    ApplyOverride(doc, override_text, ctx);
  }
  if (options.repetitions) {
    const std::string count = std::to_string(*options.repetitions);
    const Origin where{0, 0, std::make_shared<const std::string>("--repetitions " + count)};
    Node value;
    value.kind = Node::Kind::kScalar;
    value.scalar = count;
    value.origin = where;
    ApplySetting(doc, "repetitions", std::move(value), where, ctx);
  }

  LoadedScenario loaded;
  loaded.scenario = DecodeAndValidate(doc, ctx);
  loaded.source = std::string(source_name);
  loaded.profile = options.profile;
  loaded.resolved_yaml = internal::Emit(doc);
  return loaded;
}

LoadedScenario LoadScenarioFile(const std::filesystem::path& path, const LoadOptions& options) {
  const std::string name = path.string();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) throw InputError(fmt::format("{}: cannot read: {}", name, ec.message()));
  if (!std::filesystem::is_regular_file(status)) {
    throw InputError(fmt::format("{}: cannot read: not a regular file", name));
  }
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxFileBytes) {
    throw InputError(fmt::format("{}: {} bytes is too large for a scenario (limit {})", name, size,
                                 kMaxFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot read: {}", name, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError(fmt::format("{}: cannot read: {}", name, std::strerror(errno)));
  return LoadScenarioString(text.str(), name, options);
}

}  // namespace nfb::scenario
