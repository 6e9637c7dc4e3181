#include "nfb/platform/inventory.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "nfb/core/error.h"
#include "nfb/core/text_file.h"
#include "run_state.h"

namespace nfb::platform {
namespace {

std::string At(const std::string& source, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return source;
  return fmt::format("{}:{}:{}", source, mark.line + 1, mark.column + 1);
}

[[noreturn]] void Fail(const std::string& source, const YAML::Node& node, const std::string& what) {
  throw InputError(fmt::format("{}: {}", At(source, node), what));
}

std::string Scalar(const std::string& source, const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    Fail(source, node, fmt::format("'{}' must be a non-empty string", key));
  }
  return node.Scalar();
}

void CheckKeys(const std::string& source, const YAML::Node& map,
               const std::set<std::string>& known, const std::string& where) {
  for (const auto& entry : map) {
    const std::string key = entry.first.Scalar();
    if (!known.contains(key)) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      Fail(source, entry.first,
           fmt::format("unknown key '{}' in {} (known: {})", key, where, list));
    }
  }
}

}  // namespace

const ExternalMachine* Inventory::Find(const std::string& name) const {
  for (const ExternalMachine& h : hosts) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

Inventory ParseInventory(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}:{}:{}: not valid YAML: {}", source, e.mark.line + 1,
                                 e.mark.column + 1, e.msg));
  }
  if (!root.IsMap()) {
    throw InputError(source + ": an inventory is a map with 'hosts' (and optionally 'nic')");
  }
  CheckKeys(source, root, {"hosts", "nic"}, "the inventory");
  Inventory inv;
  inv.source = source;
  if (root["nic"]) {
    inv.nic = Scalar(source, root["nic"], "nic");
    if (!internal::IsInterfaceName(inv.nic) || inv.nic == "xenbr0" || inv.nic == "lo") {
      Fail(source, root["nic"], fmt::format("'{}' cannot be dom0's NIC", inv.nic));
    }
  }
  const YAML::Node hosts = root["hosts"];
  if (!hosts || !hosts.IsMap() || hosts.size() == 0) {
    Fail(source, hosts ? hosts : root,
         "'hosts' must map each external host of the scenario to its machine (ssh, interface)");
  }
  static const std::regex kDestination(R"(([A-Za-z0-9._-]+@)?[A-Za-z0-9._:\[\]-]+)");
  for (const auto& entry : hosts) {
    ExternalMachine m;
    m.name = entry.first.Scalar();
    const YAML::Node h = entry.second;
    const std::string where = fmt::format("host '{}'", m.name);
    if (inv.Find(m.name) != nullptr) Fail(source, entry.first, where + " is listed twice");
    if (!h.IsMap()) Fail(source, h, where + " must be a map with ssh and interface");
    CheckKeys(source, h, {"configure", "interface", "ssh", "ssh_options"}, where);
    if (!h["ssh"]) Fail(source, h, where + " has no 'ssh' (its SSH destination, user@address)");
    if (!h["interface"]) {
      Fail(source, h, where + " has no 'interface' (the one cabled to dom0's NIC)");
    }
    m.ssh = Scalar(source, h["ssh"], "ssh");
    if (!std::regex_match(m.ssh, kDestination) || m.ssh.front() == '-') {
      Fail(source, h["ssh"],
           fmt::format("{}: '{}' is not an SSH destination ([user@]host)", where, m.ssh));
    }
    m.interface = Scalar(source, h["interface"], "interface");
    if (!internal::IsInterfaceName(m.interface)) {
      Fail(source, h["interface"],
           fmt::format("{}: '{}' is not an interface name", where, m.interface));
    }
    if (h["configure"]) {
      const YAML::Node c = h["configure"];
      if (!c.IsScalar() || (c.Scalar() != "true" && c.Scalar() != "false")) {
        Fail(source, c, where + ": 'configure' must be true or false");
      }
      m.configure = c.Scalar() == "true";
    }
    if (h["ssh_options"]) {
      const YAML::Node o = h["ssh_options"];
      if (!o.IsSequence()) Fail(source, o, where + ": 'ssh_options' must be a list of strings");
      for (const auto& option : o) m.ssh_options.push_back(Scalar(source, option, "ssh_options"));
    }
    inv.hosts.push_back(std::move(m));
  }
  return inv;
}

Inventory LoadInventory(const std::filesystem::path& path) {
  std::optional<std::string> text = ReadTextFile(path);
  if (!text) throw InputError("cannot read the inventory " + path.string());
  return ParseInventory(*text, path.string());
}

}  // namespace nfb::platform
