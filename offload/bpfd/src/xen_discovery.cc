#include "nfb/bpfd/xen_discovery.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <new>
#include <set>
#include <utility>
#include <vector>

#include "nfb/bpf/mac_address.h"
#include "nfb/bpfd/daemon.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb::bpfd {
namespace {

constexpr int kDomidFirstReserved = 0x7FF0;  // DOMID_FIRST_RESERVED in xen/xen.h
constexpr int kMaxVifDevid = 1 << 20;
constexpr size_t kMaxNameRead = 256;  // longer values are not looked at

std::optional<int> ParseDecimal(std::string_view text, int limit) {
  if (text.empty() || text.size() > 7) return std::nullopt;
  if (text.size() > 1 && text.front() == '0') return std::nullopt;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value >= limit) return std::nullopt;
  return value;
}

// Untrusted text for a log line: at most `limit` characters, anything unprintable as '?'.
std::string Printable(std::string_view text, size_t limit = 40) {
  std::string out;
  for (const char c : text.substr(0, limit)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > limit) out += "...";
  return out;
}

}  // namespace

std::optional<int> ParseXenDomid(std::string_view text) {
  return ParseDecimal(text, kDomidFirstReserved);
}

std::string BpfdNameForDomain(int domid, const std::optional<std::string>& xenstore_name) {
  if (xenstore_name) {
    const std::string& n = *xenstore_name;
    const bool valid = !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '.' || c == '-';
    });
    if (valid) return n;
  }
  return fmt::format("domain-{}", domid);
}

std::optional<std::string> ParseXenMac(std::string_view text) {
  // Exactly "xx:xx:xx:xx:xx:xx" as the toolstack writes it; nothing longer is even parsed.
  if (text.size() != 17) return std::nullopt;
  bpf::MacAddress mac;
  try {
    mac = bpf::ParseMac(text);
  } catch (const InputError&) {
    return std::nullopt;
  }
  if (bpf::IsGroupMac(mac)) return std::nullopt;
  if (std::all_of(mac.begin(), mac.end(), [](uint8_t b) { return b == 0; })) return std::nullopt;
  return bpf::FormatMac(mac);
}

XenStoreDiscovery::XenStoreDiscovery(XenStore& store, DomainRegistry& registry,
                                     XenDiscoveryOptions options)
    : store_(store), registry_(registry), options_(options) {}

void XenStoreDiscovery::Start() {
  store_.Watch("@introduceDomain", "xenbpf-introduce");
  store_.Watch("@releaseDomain", "xenbpf-release");
  store_.Watch(fmt::format("/local/domain/{}/backend/vif", options_.backend_domid), "xenbpf-vif");
  Rescan();
}

void XenStoreDiscovery::OnEvents() {
  const std::vector<XenStoreWatchEvent> events = store_.TakeEvents();
  if (events.empty()) return;
  for (const auto& e : events) {
    log::Debug("xenstore: watch {} fired for {}", Printable(e.token), Printable(e.path, 96));
  }
  // However many events: one re-read of the whole picture.
  Rescan();
}

void XenStoreDiscovery::LogOnce(int domid, const std::string& message) {
  auto& last = last_problem_[domid];
  if (last == message) return;
  last = message;
  log::Info("xenstore: {}", message);
}

std::optional<XenDomain> XenStoreDiscovery::ReadDomain(int domid, std::string* why) {
  XenDomain d;
  d.domid = domid;
  std::optional<std::string> name = store_.Read(fmt::format("/local/domain/{}/name", domid));
  if (name && name->size() > kMaxNameRead) name.reset();
  d.name = BpfdNameForDomain(domid, name);

  // Only dom0's backend directory: the guest cannot write it (the frontend's copy it can).
  const std::string vifs =
      fmt::format("/local/domain/{}/backend/vif/{}", options_.backend_domid, domid);
  const auto devices = store_.Directory(vifs);
  std::optional<int> devid;
  for (const std::string& entry : devices.value_or(std::vector<std::string>{})) {
    const auto id = ParseDecimal(entry, kMaxVifDevid);
    if (id && (!devid || *id < *devid)) devid = id;
  }
  if (!devid) {
    *why = fmt::format("domain {} ({}): no vif in {} yet, not served until one appears", domid,
                       d.name, vifs);
    return std::nullopt;
  }
  const std::string mac_path = fmt::format("{}/{}/mac", vifs, *devid);
  const auto mac_text = store_.Read(mac_path);
  if (!mac_text) {
    *why = fmt::format("domain {} ({}): no {} yet, not served until it appears", domid, d.name,
                       mac_path);
    return std::nullopt;
  }
  const auto mac = ParseXenMac(*mac_text);
  if (!mac) {
    *why = fmt::format("domain {} ({}): {} is not a unicast Ethernet address ('{}'), not served",
                       domid, d.name, mac_path, Printable(*mac_text));
    return std::nullopt;
  }
  d.mac = *mac;
  return d;
}

void XenStoreDiscovery::Rescan() {
  const auto entries = store_.Directory("/local/domain");
  if (!entries) {
    // A read failure is not "every domain is gone": keep what is registered.
    log::Warn("xenstore: cannot list /local/domain; keeping the {} registered domain(s)",
              registered_.size());
    return;
  }
  std::map<int, XenDomain> now;
  for (const std::string& entry : *entries) {
    const auto domid = ParseXenDomid(entry);
    if (!domid || *domid == 0 || *domid == options_.backend_domid) continue;
    std::string why;
    if (auto d = ReadDomain(*domid, &why)) {
      now.emplace(*domid, std::move(*d));
    } else {
      LogOnce(*domid, why);
    }
  }
  // Gone or changed first, so a name or MAC that moved to another domain is free again.
  for (auto it = registered_.begin(); it != registered_.end();) {
    const auto found = now.find(it->first);
    if (found != now.end() && found->second == it->second) {
      ++it;
      continue;
    }
    log::Info("xenstore: domain {} ({}, {}) {}; unregistering it", it->first, it->second.name,
              it->second.mac,
              found == now.end() ? "is gone or has no vif" : "changed its name or MAC");
    try {
      registry_.Unregister(it->second.name);
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      log::Warn("xenstore: unregistering domain {}: {}", it->second.name, e.what());
    }
    it = registered_.erase(it);
  }
  for (const auto& [domid, d] : now) {
    if (registered_.contains(domid)) continue;
    DomainSpec spec;
    spec.name = d.name;
    spec.mac = d.mac;
    spec.domid = domid;
    try {
      registry_.Register(spec);
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      // Tried again at the next event (a name or MAC still held by a domain on its way out).
      LogOnce(domid, fmt::format("domain {} ({}, {}) cannot be registered: {}", domid, d.name,
                                 d.mac, e.what()));
      continue;
    }
    log::Info("xenstore: domain {} registered as {} with MAC {} (from dom0's vif backend)", domid,
              d.name, d.mac);
    registered_.emplace(domid, d);
    last_problem_.erase(domid);
  }
  // Problems of domains no longer listed are forgotten (their ids are not reused soon).
  std::set<int> listed;
  for (const std::string& entry : *entries) {
    if (const auto domid = ParseXenDomid(entry)) listed.insert(*domid);
  }
  std::erase_if(last_problem_, [&listed](const auto& p) { return listed.count(p.first) == 0; });
}

void XenStoreDiscovery::UnregisterAll() {
  for (const auto& [domid, d] : registered_) {
    try {
      registry_.Unregister(d.name);
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      log::Warn("xenstore: unregistering domain {}: {}", d.name, e.what());
    }
  }
  registered_.clear();
}

void DaemonRegistry::Register(const DomainSpec& spec) { daemon_.RegisterDomain(spec); }

void DaemonRegistry::Unregister(const std::string& name) {
  try {
    daemon_.UnregisterDomain(name);
  } catch (const InputError& e) {
    log::Debug("{} (already unregistered through the control socket)", e.what());
  }
}

}  // namespace nfb::bpfd
