// The scenario document as a plain tree, between yaml-cpp and the typed model.
//
// yaml-cpp's nodes share children through aliases (an edit through one path changes every alias,
// and `&a [*a]` is a cycle) and cannot say where a node came from other than a mark in one text.
// Overrides and profiles must edit one place and must be blamed by their own text, so the
// document is copied once into this tree: aliases expanded under a size and depth budget, every
// node owning its children and carrying its origin.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nfb::scenario::internal {

// Where a node came from, for error messages.
struct Origin {
  int line = 0;  // 1-based; 0 when the node did not come from the file (an override)
  int column = 0;
  // What put it there when that was not the file as written: "profile 'quick'",
  // "override 'workload.count=5'", "--repetitions 3". Null for the file itself.
  std::shared_ptr<const std::string> via;
};

struct Entry;

struct Node {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  std::string scalar;
  bool quoted = false;  // a non-plain scalar ("x", 'x', |, > or an explicit tag): only a string
  Origin origin;
  std::vector<Node> items;     // kSequence
  std::vector<Entry> entries;  // kMap, in document order

  bool IsNull() const { return kind == Kind::kNull; }
  bool IsScalar() const { return kind == Kind::kScalar; }
  bool IsSequence() const { return kind == Kind::kSequence; }
  bool IsMap() const { return kind == Kind::kMap; }

  const Entry* FindEntry(std::string_view key) const;  // nullptr when absent or not a map
  Entry* FindEntry(std::string_view key);
};

struct Entry {
  std::string key;
  bool key_quoted = false;
  Origin key_origin;
  Node value;
};

// The position of a node in the document, printed as `topology.guests[0].mac`. Keys that are not
// simple words are quoted: `report.reference."domU plain"`.
class Path {
 public:
  struct Part {
    std::string key;  // empty for an index
    size_t index = 0;
    bool is_index = false;
  };

  Path Key(std::string_view key) const;
  Path Index(size_t index) const;
  bool empty() const { return parts_.empty(); }
  const std::vector<Part>& parts() const { return parts_; }
  const std::string& str() const { return text_; }

 private:
  std::vector<Part> parts_;
  std::string text_;
};

// Formats and throws the loader's errors; knows the source name every message starts with.
class Context {
 public:
  explicit Context(std::string source) : source_(std::move(source)) {}
  const std::string& source() const { return source_; }

  // "<source>:<line>:<column>: [<via>: ][<path>: ]<message>"; without a line (an override)
  // "<source>: <via>: [<path>: ]<message>".
  std::string Format(const Origin& where, const Path& path, std::string_view message) const;
  [[noreturn]] void Fail(const Origin& where, const Path& path, std::string_view message) const;
  [[noreturn]] void Fail(const Node& at, const Path& path, std::string_view message) const {
    Fail(at.origin, path, message);
  }

 private:
  std::string source_;
};

// Limits that keep hostile input (alias bombs, recursive aliases) from exhausting the process.
inline constexpr size_t kMaxNodes = 100000;
inline constexpr int kMaxDepth = 64;

// Parses `text` as exactly one YAML document. An empty document becomes a null node at 1:1.
// Throws InputError for syntax errors, a second document, non-scalar or duplicate map keys and
// documents beyond kMaxNodes/kMaxDepth after alias expansion.
Node ParseDocument(std::string_view text, const Context& ctx);

// Parses an override value (any YAML node, usually a scalar or a flow list/map). Every node gets
// `where` as its origin, since positions inside the value text mean nothing in the file. `path`
// is where the value goes, for messages. Throws InputError like ParseDocument.
Node ParseValue(std::string_view text, const Origin& where, const Path& path, const Context& ctx);

// Sets `via` on `node` and all its descendants (a profile's values keep their file positions but
// are blamed on the profile).
void SetVia(Node& node, const std::shared_ptr<const std::string>& via);

// The origin of the node at `path`, or of its nearest ancestor present (a defaulted key has no
// node of its own). With `key_of_last`, the origin of the last map key rather than its value.
Origin Locate(const Node& root, const Path& path, bool key_of_last = false);

// Block YAML for maps, flow for lists of scalars; same tree, same bytes.
std::string Emit(const Node& root);

// "a map", "a list", "null", "'abc'" or "the quoted string \"5\"": for "expected X, got Y".
std::string Describe(const Node& node);

// The candidate closest to `word` when it is close enough to be a plausible typo, else empty.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// `text` shortened to `max` characters with control characters escaped, for quoting in messages.
std::string Excerpt(std::string_view text, size_t max = 40);

// "a, b, c"
std::string JoinNames(const std::vector<std::string>& names);

}  // namespace nfb::scenario::internal
