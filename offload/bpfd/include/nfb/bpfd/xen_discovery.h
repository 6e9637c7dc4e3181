// bpfd --xenstore: finds the guest domains of a Xen host in XenStore and registers each with the
// daemon (vchan transport), unregistering it when it goes away (docs/bpfd.md, "Xen").
//
// What it reads, and why it can trust it:
//   /local/domain                               the domain ids (dom0-owned; 0 is skipped)
//   /local/domain/<domid>/name                  the domain's name (written by the toolstack, but
//                                               validated like guest input; an unusable one
//                                               becomes "domain-<domid>")
//   /local/domain/0/backend/vif/<domid>/<devid>/mac
//                                               the MAC of the domain's vif, from dom0's backend
//                                               directory, which the guest cannot write. The
//                                               frontend's copy (/local/domain/<domid>/device/
//                                               vif/...) is guest-writable and never read: a
//                                               guest could otherwise claim another guest's MAC
//                                               and so its traffic.
// The vif with the lowest device id is the domain's (the dispatcher keys one MAC per domain).
// Watches: @introduceDomain, @releaseDomain, and dom0's vif backend directory (a vif is added
// after its domain is introduced, and removed before it is released). Every event leads to one
// re-read of the whole picture, which is then reconciled with what is registered: new domains
// registered, vanished ones unregistered, a changed name or MAC re-registered.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "nfb/bpfd/control.h"
#include "nfb/bpfd/xenstore.h"

namespace nfb::bpfd {

// Where discovered domains go: the daemon (DaemonRegistry) or a test's recorder.
class DomainRegistry {
 public:
  virtual ~DomainRegistry() = default;
  // Throws (InputError, RunError, ...) when the domain cannot be registered.
  virtual void Register(const DomainSpec& spec) = 0;
  virtual void Unregister(const std::string& name) = 0;
};

// A domain as discovery last saw it.
struct XenDomain {
  int domid = -1;
  std::string name;  // the name bpfd registers it under
  std::string mac;   // "02:00:00:00:01:01", from dom0's vif backend
  bool operator==(const XenDomain&) const = default;
};

// Parses a XenStore domain id (a child of /local/domain): decimal, no sign or leading zero,
// below DOMID_FIRST_RESERVED (0x7FF0). nullopt otherwise.
std::optional<int> ParseXenDomid(std::string_view text);

// The name bpfd uses for a domain: its XenStore name if it is a valid bpfd name
// ([A-Za-z0-9_.-]{1,64}), else "domain-<domid>".
std::string BpfdNameForDomain(int domid, const std::optional<std::string>& xenstore_name);

// A MAC read from XenStore, normalised ("02:00:00:00:01:01"), if it is an Ethernet address that
// can key the dispatcher (unicast, not all zeros); nullopt otherwise.
std::optional<std::string> ParseXenMac(std::string_view text);

struct XenDiscoveryOptions {
  int backend_domid = 0;  // the domain whose backend directory holds the vifs (dom0)
};

class XenStoreDiscovery {
 public:
  // `store` and `registry` must outlive the discovery.
  XenStoreDiscovery(XenStore& store, DomainRegistry& registry, XenDiscoveryOptions options = {});

  // Sets the watches and registers the domains present now. Throws RunError if a watch cannot be
  // set. A domain that cannot be registered is logged and tried again at the next event.
  void Start();
  // Takes the pending watch events (store.fd() was readable) and, if there were any, re-reads
  // XenStore and reconciles. Never throws for one domain's trouble.
  void OnEvents();
  // Re-reads XenStore and reconciles the registry with it.
  void Rescan();
  // Unregisters every domain this discovery registered.
  void UnregisterAll();

  // Domains registered through this discovery, by domid.
  const std::map<int, XenDomain>& registered() const { return registered_; }

 private:
  // The domain as XenStore describes it now; nullopt (and *why) when it cannot be served yet
  // (no vif, no MAC) or its data is unusable.
  std::optional<XenDomain> ReadDomain(int domid, std::string* why);
  void LogOnce(int domid, const std::string& message);

  XenStore& store_;
  DomainRegistry& registry_;
  XenDiscoveryOptions options_;
  std::map<int, XenDomain> registered_;
  std::map<int, std::string> last_problem_;  // per domid, so a repeated problem is logged once
};

class Daemon;

// Registers with a Daemon (RegisterDomain/UnregisterDomain).
class DaemonRegistry : public DomainRegistry {
 public:
  explicit DaemonRegistry(Daemon& daemon) : daemon_(daemon) {}
  void Register(const DomainSpec& spec) override;
  // A domain already unregistered (through the control socket) is not an error.
  void Unregister(const std::string& name) override;

 private:
  Daemon& daemon_;
};

}  // namespace nfb::bpfd
