#include "tree.h"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <unordered_map>

#include "nfb/core/error.h"

namespace nfb::scenario::internal {
namespace {

bool IsWord(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// Copies a yaml-cpp node into the owned tree (see tree.h for why).
class Converter {
 public:
  // `fixed` set: every node gets it (override values); otherwise positions come from the marks.
  Converter(const Context& ctx, const Origin* fixed) : ctx_(ctx), fixed_(fixed) {}

  Node Convert(const YAML::Node& in, const Path& path, const Origin& parent, int depth) {
    Node out;
    out.origin = OriginOf(in.Mark(), parent);
    if (++nodes_ > kMaxNodes) {
      ctx_.Fail(out.origin, path,
                fmt::format("the document expands to more than {} nodes (aliases?)", kMaxNodes));
    }
    if (depth > kMaxDepth) {
      ctx_.Fail(out.origin, path,
                fmt::format("nested deeper than {} levels (a recursive alias?)", kMaxDepth));
    }
    switch (in.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out.kind = Node::Kind::kNull;
        break;
      case YAML::NodeType::Scalar:
        out.kind = Node::Kind::kScalar;
        out.scalar = in.Scalar();
        // yaml-cpp tags plain scalars "?" and quoted/block ones "!"; an explicit tag such as !!str
        // also makes the scalar a string as far as this schema is concerned.
        out.quoted = in.Tag() != "?";
        break;
      case YAML::NodeType::Sequence: {
        out.kind = Node::Kind::kSequence;
        size_t index = 0;
        for (const YAML::Node& item : in) {
          out.items.push_back(Convert(item, path.Index(index++), out.origin, depth + 1));
        }
        break;
      }
      case YAML::NodeType::Map: {
        out.kind = Node::Kind::kMap;
        std::unordered_map<std::string, Origin> seen;
        for (auto it = in.begin(); it != in.end(); ++it) {
          // Copies: the iterator's -> yields a temporary pair, so references into it dangle.
          const YAML::Node key = it->first;
          const YAML::Node value = it->second;
          Entry entry;
          entry.key_origin = OriginOf(key.Mark(), out.origin);
          if (!key.IsScalar()) {
            ctx_.Fail(entry.key_origin, path,
                      key.IsNull() ? "a map key is empty" : "map keys must be plain strings");
          }
          entry.key = key.Scalar();
          entry.key_quoted = key.Tag() != "?";
          const Path child = path.Key(entry.key);
          auto [first, inserted] = seen.emplace(entry.key, entry.key_origin);
          if (!inserted) {
            ctx_.Fail(
                entry.key_origin, child,
                first->second.line > 0
                    ? fmt::format("duplicate key (first defined at line {})", first->second.line)
                    : std::string("duplicate key"));
          }
          entry.value = Convert(value, child, entry.key_origin, depth + 1);
          // `key:` with nothing after it is null, and yaml-cpp marks it where the next token
          // starts (often the next line); a block map or list is marked at its first item. In
          // both cases the key is where a reader looks for "the value of key".
          const bool on_later_line = entry.value.origin.line > entry.key_origin.line;
          if (entry.value.IsNull() ||
              (on_later_line && (entry.value.IsMap() || entry.value.IsSequence()))) {
            entry.value.origin = entry.key_origin;
          }
          out.entries.push_back(std::move(entry));
        }
        break;
      }
    }
    return out;
  }

 private:
  Origin OriginOf(const YAML::Mark& mark, const Origin& parent) const {
    if (fixed_ != nullptr) return *fixed_;
    if (mark.is_null() || mark.line < 0 || mark.column < 0) return parent;
    return Origin{mark.line + 1, mark.column + 1, parent.via};
  }

  const Context& ctx_;
  const Origin* fixed_;
  size_t nodes_ = 0;
};

// Loads the documents of `text`, turning everything yaml-cpp throws into InputError. yaml-cpp
// reports syntax errors as ParserException with a mark; other exceptions are unexpected but must
// still not escape as anything but bad input.
std::vector<YAML::Node> LoadAll(std::string_view text, const Origin& where, const Context& ctx,
                                const Path& path, bool use_marks) {
  try {
    return YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    Origin at = where;
    if (use_marks && !e.mark.is_null()) at = Origin{e.mark.line + 1, e.mark.column + 1, where.via};
    ctx.Fail(at, path, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    ctx.Fail(where, path, std::string("YAML error: ") + e.what());
  }
}

void EmitNode(YAML::Emitter& out, const Node& node) {
  switch (node.kind) {
    case Node::Kind::kNull:
      out << YAML::Null;
      break;
    case Node::Kind::kScalar:
      // Plain stays plain (yaml-cpp quotes it itself if it could be misread); a quoted scalar
      // stays quoted so that "5" or "true" keep meaning a string.
      if (node.quoted) out << YAML::DoubleQuoted;
      out << node.scalar;
      break;
    case Node::Kind::kSequence: {
      const bool flat = std::all_of(node.items.begin(), node.items.end(),
                                    [](const Node& n) { return n.IsScalar() || n.IsNull(); });
      if (flat) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const Node& item : node.items) EmitNode(out, item);
      out << YAML::EndSeq;
      break;
    }
    case Node::Kind::kMap:
      if (node.entries.empty()) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const Entry& entry : node.entries) {
        out << YAML::Key;
        if (entry.key_quoted) out << YAML::DoubleQuoted;
        out << entry.key << YAML::Value;
        EmitNode(out, entry.value);
      }
      out << YAML::EndMap;
      break;
  }
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

// Shortened and escaped so that a hostile value cannot flood or garble the terminal.
std::string Excerpt(std::string_view text, size_t max) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

const Entry* Node::FindEntry(std::string_view key) const {
  for (const Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

Entry* Node::FindEntry(std::string_view key) {
  for (Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

Path Path::Key(std::string_view key) const {
  Path p = *this;
  p.parts_.push_back(Part{std::string(key), 0, false});
  if (!p.text_.empty()) p.text_ += '.';
  if (IsWord(key)) {
    p.text_ += key;
  } else {
    p.text_ += '"' + Excerpt(key) + '"';
  }
  return p;
}

Path Path::Index(size_t index) const {
  Path p = *this;
  p.parts_.push_back(Part{std::string(), index, true});
  p.text_ += fmt::format("[{}]", index);
  return p;
}

std::string Context::Format(const Origin& where, const Path& path, std::string_view message) const {
  std::string out = source_;
  if (where.line > 0) out += fmt::format(":{}:{}", where.line, where.column);
  out += ": ";
  if (where.via) out += *where.via + ": ";
  if (!path.empty()) {
    // Only a recursive alias makes a path long; its start is what locates the problem.
    constexpr size_t kMaxPath = 160;
    out += path.str().size() > kMaxPath ? path.str().substr(0, kMaxPath) + "..." : path.str();
    out += ": ";
  }
  out += message;
  return out;
}

void Context::Fail(const Origin& where, const Path& path, std::string_view message) const {
  throw InputError(Format(where, path, message));
}

Node ParseDocument(std::string_view text, const Context& ctx) {
  const Origin start{1, 1, nullptr};
  const std::vector<YAML::Node> docs = LoadAll(text, start, ctx, Path(), true);
  if (docs.empty()) {
    Node empty;
    empty.origin = start;
    return empty;
  }
  if (docs.size() > 1) {
    const YAML::Mark mark = docs[1].Mark();
    const Origin second =
        mark.is_null() || mark.line < 0 ? start : Origin{mark.line + 1, mark.column + 1, nullptr};
    ctx.Fail(second, Path(), "expected a single YAML document, found a second one here");
  }
  Converter converter(ctx, nullptr);
  return converter.Convert(docs[0], Path(), start, 0);
}

Node ParseValue(std::string_view text, const Origin& where, const Path& path, const Context& ctx) {
  const std::vector<YAML::Node> docs = LoadAll(text, where, ctx, path, false);
  if (docs.size() > 1) ctx.Fail(where, path, "the value holds more than one YAML document");
  Converter converter(ctx, &where);
  if (docs.empty()) {
    Node null_node;
    null_node.origin = where;
    return null_node;
  }
  return converter.Convert(docs[0], path, where, 0);
}

void SetVia(Node& node, const std::shared_ptr<const std::string>& via) {
  node.origin.via = via;
  for (Node& item : node.items) SetVia(item, via);
  for (Entry& entry : node.entries) {
    entry.key_origin.via = via;
    SetVia(entry.value, via);
  }
}

Origin Locate(const Node& root, const Path& path, bool key_of_last) {
  const Node* node = &root;
  Origin found = root.origin;
  const auto& parts = path.parts();
  for (size_t i = 0; i < parts.size(); ++i) {
    const Path::Part& part = parts[i];
    if (part.is_index) {
      if (!node->IsSequence() || part.index >= node->items.size()) break;
      node = &node->items[part.index];
      found = node->origin;
    } else {
      const Entry* entry = node->FindEntry(part.key);
      if (entry == nullptr) break;
      node = &entry->value;
      found = (key_of_last && i + 1 == parts.size()) ? entry->key_origin : node->origin;
    }
  }
  return found;
}

std::string Emit(const Node& root) {
  YAML::Emitter out;
  out.SetIndent(2);
  EmitNode(out, root);
  if (!out.good()) throw InputError("cannot write the resolved scenario: " + out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

std::string Describe(const Node& node) {
  switch (node.kind) {
    case Node::Kind::kNull:
      return "null";
    case Node::Kind::kScalar:
      if (node.quoted) return "the quoted string \"" + Excerpt(node.scalar) + "\"";
      return "'" + Excerpt(node.scalar) + "'";
    case Node::Kind::kSequence:
      return "a list";
    case Node::Kind::kMap:
      return "a map";
  }
  return "?";
}

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const std::string& c : candidates) {
    size_t d = EditDistance(word, c);
    // A prefix either way ("interval" for "interval_ms") is as good as a one-letter typo.
    if (word.size() >= 3 && (c.starts_with(word) || word.starts_with(c)))
      d = std::min<size_t>(d, 1);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_distance <= limit && best_distance < word.size() ? best : std::string();
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out.empty() ? "none" : out;
}

}  // namespace nfb::scenario::internal
