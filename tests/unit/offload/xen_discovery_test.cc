// bpfd --xenstore's domain discovery (nfb/bpfd/xen_discovery.h) against an in-memory XenStore:
// which domains get registered, with which name and MAC, when they come and go, and that nothing
// a guest can write (its frontend entries, a malformed value) decides what bpfd registers.
#include "nfb/bpfd/xen_discovery.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nfb/bpfd/daemon.h"
#include "nfb/bpfd/service.h"
#include "nfb/bpfd/testing/fake_backend.h"
#include "nfb/bpfd/transport.h"

namespace nfb::bpfd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// XenStore as a map from path to value; every prefix of a stored path is a directory.
class FakeXenStore : public XenStore {
 public:
  void Set(const std::string& path, const std::string& value) { nodes_[path] = value; }
  // Removes `path` and everything below it.
  void Remove(const std::string& path) {
    std::erase_if(nodes_, [&path](const auto& n) {
      return n.first == path || n.first.rfind(path + "/", 0) == 0;
    });
  }
  void Fire(const std::string& path, const std::string& token) { events_.push_back({path, token}); }
  void FailDirectory(bool fail) { fail_directory_ = fail; }

  std::optional<std::vector<std::string>> Directory(const std::string& path) override {
    ++reads;
    if (fail_directory_) return std::nullopt;
    std::set<std::string> children;
    bool exists = false;
    const std::string prefix = path + "/";
    for (const auto& [p, v] : nodes_) {
      if (p == path) exists = true;
      if (p.rfind(prefix, 0) != 0) continue;
      exists = true;
      children.insert(p.substr(prefix.size(), p.find('/', prefix.size()) - prefix.size()));
    }
    if (!exists) return std::nullopt;
    return std::vector<std::string>(children.begin(), children.end());
  }
  std::optional<std::string> Read(const std::string& path) override {
    ++reads;
    const auto it = nodes_.find(path);
    if (it == nodes_.end()) return std::nullopt;
    return it->second;
  }
  void Watch(const std::string& path, const std::string& token) override {
    watches.push_back(path);
    Fire(path, token);  // as XenStore does
  }
  int fd() const override { return -1; }
  std::vector<XenStoreWatchEvent> TakeEvents() override { return std::exchange(events_, {}); }

  std::vector<std::string> watches;
  int reads = 0;

 private:
  std::map<std::string, std::string> nodes_;
  std::vector<XenStoreWatchEvent> events_;
  bool fail_directory_ = false;
};

class RecordingRegistry : public DomainRegistry {
 public:
  void Register(const DomainSpec& spec) override {
    if (!refuse.empty()) throw std::runtime_error(refuse);
    log.push_back("+" + spec.name + " " + spec.mac + " " + std::to_string(spec.domid));
    EXPECT_TRUE(spec.netns.empty()) << "Xen domains have no netns: the vchan is chosen";
  }
  void Unregister(const std::string& name) override { log.push_back("-" + name); }
  std::vector<std::string> log;
  std::string refuse;  // non-empty: Register throws this
};

class XenDiscoveryTest : public ::testing::Test {
 protected:
  XenDiscoveryTest() {
    store_.Set("/local/domain/0/name", "Domain-0");
    store_.Set("/local/domain/0/domid", "0");
  }
  // A guest as xl creates it: its home, and its vif's backend entries in dom0.
  void AddGuest(int domid, const std::string& name, const std::string& mac, int devid = 0) {
    const std::string home = "/local/domain/" + std::to_string(domid);
    store_.Set(home + "/name", name);
    store_.Set(home + "/domid", std::to_string(domid));
    AddVif(domid, mac, devid);
  }
  void AddVif(int domid, const std::string& mac, int devid = 0) {
    const std::string backend =
        "/local/domain/0/backend/vif/" + std::to_string(domid) + "/" + std::to_string(devid);
    store_.Set(backend + "/mac", mac);
    store_.Set(backend + "/frontend-id", std::to_string(domid));
  }
  void Event() {
    store_.Fire("/local/domain/0/backend/vif", "xenbpf-vif");
    discovery_.OnEvents();
  }

  FakeXenStore store_;
  RecordingRegistry registry_;
  XenStoreDiscovery discovery_{store_, registry_};
};

TEST(XenDiscoveryParseTest, DomainIds) {
  EXPECT_EQ(ParseXenDomid("0"), 0);
  EXPECT_EQ(ParseXenDomid("7"), 7);
  EXPECT_EQ(ParseXenDomid("32751"), 32751);
  for (const char* bad : {"", "-1", "+3", "03", "3a", " 3", "32752", "65535", "99999999", "1e3"}) {
    EXPECT_EQ(ParseXenDomid(bad), std::nullopt) << bad;
  }
}

TEST(XenDiscoveryParseTest, Macs) {
  EXPECT_EQ(ParseXenMac("02:00:00:00:01:01"), "02:00:00:00:01:01");
  EXPECT_EQ(ParseXenMac("02:AB:cd:00:01:0F"), "02:ab:cd:00:01:0f");
  for (const char* bad : {"", "02:00:00:00:01", "02:00:00:00:01:01 ", "02:00:00:00:01:01\n",
                          "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00",
                          "zz:00:00:00:01:01", "02:00:00:00:01:01:02", "02-00-00-00-01-01x"}) {
    EXPECT_EQ(ParseXenMac(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(ParseXenMac(std::string("02:00:00:00:01:01\0", 18)), std::nullopt);
}

TEST(XenDiscoveryParseTest, Names) {
  EXPECT_EQ(BpfdNameForDomain(3, "domu1"), "domu1");
  EXPECT_EQ(BpfdNameForDomain(3, "web-1.example_A"), "web-1.example_A");
  EXPECT_EQ(BpfdNameForDomain(3, std::nullopt), "domain-3");
  for (const std::string& bad :
       std::vector<std::string>{"", "bad name", "a/b", "x;rm", std::string(65, 'a'),
                                std::string("nul\0x", 5), "\xc3\xa9t\xc3\xa9"}) {
    EXPECT_EQ(BpfdNameForDomain(12, bad), "domain-12") << bad;
  }
  EXPECT_EQ(BpfdNameForDomain(12, std::string(64, 'a')), std::string(64, 'a'));
}

TEST_F(XenDiscoveryTest, RegistersGuestsWithTheirBackendMacAndSkipsDom0) {
  AddVif(0, "02:00:00:00:00:99");  // dom0 with a vif of its own is still not a guest
  AddGuest(3, "domu1", "02:00:00:00:01:01");
  AddGuest(5, "domu2", "02:00:00:00:02:01");
  discovery_.Start();
  EXPECT_THAT(store_.watches, UnorderedElementsAre("@introduceDomain", "@releaseDomain",
                                                   "/local/domain/0/backend/vif"));
  EXPECT_THAT(registry_.log,
              ElementsAre("+domu1 02:00:00:00:01:01 3", "+domu2 02:00:00:00:02:01 5"));
  ASSERT_EQ(discovery_.registered().size(), 2u);
  EXPECT_EQ(discovery_.registered().at(3).name, "domu1");
  // The watches' initial events: one re-read, nothing changes.
  discovery_.OnEvents();
  EXPECT_EQ(registry_.log.size(), 2u);
}

TEST_F(XenDiscoveryTest, TheGuestWritableFrontendMacIsNeverUsed) {
  AddGuest(3, "domu1", "02:00:00:00:01:01");
  // The guest owns /local/domain/3/device/...: claiming another guest's MAC there changes nothing.
  store_.Set("/local/domain/3/device/vif/0/mac", "02:00:00:00:02:01");
  store_.Set("/local/domain/3/data/mac", "02:00:00:00:02:01");
  discovery_.Start();
  EXPECT_THAT(registry_.log, ElementsAre("+domu1 02:00:00:00:01:01 3"));
}

TEST_F(XenDiscoveryTest, AVifAppearingAfterTheDomainRegistersIt) {
  store_.Set("/local/domain/4/name", "late");
  discovery_.Start();
  EXPECT_THAT(registry_.log, IsEmpty()) << "no vif, no MAC: nothing to key the dispatcher with";
  // xl adds the vif's backend directory first, the MAC with it or right after.
  store_.Set("/local/domain/0/backend/vif/4/0/state", "1");
  Event();
  EXPECT_THAT(registry_.log, IsEmpty());
  AddVif(4, "02:00:00:00:04:01");
  Event();
  EXPECT_THAT(registry_.log, ElementsAre("+late 02:00:00:00:04:01 4"));
}

TEST_F(XenDiscoveryTest, AGuestGoingAwayIsUnregistered) {
  AddGuest(3, "domu1", "02:00:00:00:01:01");
  AddGuest(5, "domu2", "02:00:00:00:02:01");
  discovery_.Start();
  // xl destroy: the vif's backend goes first, then the domain's home.
  store_.Remove("/local/domain/0/backend/vif/3");
  Event();
  EXPECT_EQ(registry_.log.back(), "-domu1");
  store_.Remove("/local/domain/3");
  store_.Fire("@releaseDomain", "xenbpf-release");
  discovery_.OnEvents();
  EXPECT_EQ(registry_.log.size(), 3u) << "unregistered once";
  EXPECT_EQ(discovery_.registered().count(3), 0u);
  EXPECT_EQ(discovery_.registered().count(5), 1u);
  // A new guest reusing the name (a new domid) is a new registration.
  AddGuest(6, "domu1", "02:00:00:00:01:01");
  store_.Fire("@introduceDomain", "xenbpf-introduce");
  discovery_.OnEvents();
  EXPECT_EQ(registry_.log.back(), "+domu1 02:00:00:00:01:01 6");
}

TEST_F(XenDiscoveryTest, AChangedMacOrNameIsRegisteredAgain) {
  AddGuest(3, "domu1", "02:00:00:00:01:01");
  discovery_.Start();
  AddVif(3, "02:00:00:00:01:02");
  Event();
  store_.Set("/local/domain/3/name", "renamed");
  Event();
  EXPECT_THAT(registry_.log,
              ElementsAre("+domu1 02:00:00:00:01:01 3", "-domu1", "+domu1 02:00:00:00:01:02 3",
                          "-domu1", "+renamed 02:00:00:00:01:02 3"));
}

TEST_F(XenDiscoveryTest, UnusableDataIsNotServed) {
  AddGuest(3, "multicast", "03:00:00:00:01:01");
  AddGuest(4, "zero", "00:00:00:00:00:00");
  AddGuest(5, "garbage", "02:00:00:00:01:01; rm -rf /");
  AddGuest(6, "short", "02:00:00");
  AddGuest(7, "binary", std::string("02:00:00:00:07:01\0", 18));
  AddGuest(8, "bad name!", "02:00:00:00:08:01");
  AddGuest(9, std::string(300, 'n'), "02:00:00:00:09:01");
  store_.Set("/local/domain/10/name", "nameless-vif");
  store_.Set("/local/domain/0/backend/vif/10/x/mac", "02:00:00:00:0a:01");  // not a device id
  store_.Set("/local/domain/0/backend/vif/10/01/mac", "02:00:00:00:0a:02");
  store_.Set("/local/domain/notanid/name", "ghost");
  store_.Set("/local/domain/40000/name", "reserved");
  AddVif(40000, "02:00:00:00:40:01");
  discovery_.Start();
  // Only the usable ones, under a bpfd name when theirs is not one.
  EXPECT_THAT(registry_.log,
              ElementsAre("+domain-8 02:00:00:00:08:01 8", "+domain-9 02:00:00:00:09:01 9"));
}

TEST_F(XenDiscoveryTest, TheLowestVifIsTheDomains) {
  store_.Set("/local/domain/3/name", "two-vifs");
  AddVif(3, "02:00:00:00:03:02", 1);
  AddVif(3, "02:00:00:00:03:01", 0);
  discovery_.Start();
  EXPECT_THAT(registry_.log, ElementsAre("+two-vifs 02:00:00:00:03:01 3"));
}

TEST_F(XenDiscoveryTest, ARefusedRegistrationIsTriedAgainAtTheNextEvent) {
  AddGuest(3, "domu1", "02:00:00:00:01:01");
  registry_.refuse = "MAC 02:00:00:00:01:01 is taken";
  discovery_.Start();
  Event();
  EXPECT_THAT(registry_.log, IsEmpty());
  EXPECT_TRUE(discovery_.registered().empty());
  registry_.refuse.clear();
  Event();
  EXPECT_THAT(registry_.log, ElementsAre("+domu1 02:00:00:00:01:01 3"));
}

TEST_F(XenDiscoveryTest, AnUnreadableDomainListKeepsWhatIsRegistered) {
  AddGuest(3, "domu1", "02:00:00:00:01:01");
  discovery_.Start();
  store_.FailDirectory(true);
  Event();
  EXPECT_EQ(discovery_.registered().size(), 1u);
  EXPECT_EQ(registry_.log.size(), 1u);
}

TEST_F(XenDiscoveryTest, NoEventsNoWork) {
  AddGuest(3, "domu1", "02:00:00:00:01:01");
  discovery_.Start();
  discovery_.OnEvents();  // the watches' initial events
  const int reads = store_.reads;
  discovery_.OnEvents();
  EXPECT_EQ(store_.reads, reads);
  // A burst of events: one re-read.
  for (int i = 0; i < 50; ++i) store_.Fire("/local/domain/0/backend/vif/3/0/state", "xenbpf-vif");
  discovery_.OnEvents();
  EXPECT_LT(store_.reads - reads, 10);
}

TEST_F(XenDiscoveryTest, UnregisterAll) {
  AddGuest(3, "domu1", "02:00:00:00:01:01");
  AddGuest(5, "domu2", "02:00:00:00:02:01");
  discovery_.Start();
  discovery_.UnregisterAll();
  EXPECT_THAT(registry_.log, ElementsAre("+domu1 02:00:00:00:01:01 3", "+domu2 02:00:00:00:02:01 5",
                                         "-domu1", "-domu2"));
  EXPECT_TRUE(discovery_.registered().empty());
}

// Through the daemon: a discovered domain is registered with its domid (the listener factory
// sees it; the real one picks the vchan), shows it in its status, and goes away with the guest.
TEST(XenDiscoveryDaemonTest, RegistersWithTheDaemon) {
  testing::FakeBackend backend;
  OffloadService service(backend);
  std::vector<int> domids;
  Daemon daemon(
      service,
      [&domids](const DomainSpec& spec) {
        domids.push_back(spec.domid);
        return ListenAbstract("",
                              "nfbtest-xendisc-" + std::to_string(::getpid()) + "-" + spec.name);
      },
      DaemonOptions{});
  FakeXenStore store;
  store.Set("/local/domain/0/name", "Domain-0");
  store.Set("/local/domain/3/name", "domu1");
  store.Set("/local/domain/0/backend/vif/3/0/mac", "02:00:00:00:01:01");
  DaemonRegistry registry(daemon);
  XenStoreDiscovery discovery(store, registry);
  discovery.Start();
  EXPECT_THAT(domids, ElementsAre(3));
  const DomainStatus status = daemon.Status("domu1");
  EXPECT_EQ(status.domid, 3);
  EXPECT_EQ(status.mac, "02:00:00:00:01:01");
  EXPECT_TRUE(status.netns.empty());
  // Unregistered through the control socket meanwhile: discovery's own unregister is harmless.
  daemon.UnregisterDomain("domu1");
  store.Remove("/local/domain/3");
  store.Remove("/local/domain/0/backend/vif/3");
  store.Fire("@releaseDomain", "xenbpf-release");
  EXPECT_NO_THROW(discovery.OnEvents());
  EXPECT_TRUE(daemon.Status().empty());
}

}  // namespace
}  // namespace nfb::bpfd
