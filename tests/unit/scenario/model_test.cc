// The value helpers of scenario.h.
#include <gtest/gtest.h>

#include "nfb/scenario/scenario.h"

namespace nfb::scenario {
namespace {

TEST(MacTest, ParsesAndPrintsLowerCase) {
  const std::optional<Mac> mac = Mac::Parse("02:00:0A:bc:Ff:01");
  ASSERT_TRUE(mac.has_value());
  EXPECT_EQ(mac->bytes, (std::array<uint8_t, 6>{0x02, 0x00, 0x0a, 0xbc, 0xff, 0x01}));
  EXPECT_EQ(mac->ToString(), "02:00:0a:bc:ff:01");
  EXPECT_EQ(Mac::Parse(mac->ToString()), mac);
}

TEST(MacTest, RejectsMalformed) {
  for (const char* text :
       {"", "02:00:00:00:00", "02:00:00:00:00:01:02", "02-00-00-00-00-01", "2:00:00:00:00:001",
        "02:00:00:00:00:0g", "02:00:00:00:00:01 ", "020000000001", "02:00:00:00:00:+1"}) {
    EXPECT_FALSE(Mac::Parse(text).has_value()) << text;
  }
}

TEST(MacTest, LocalUnicastMeansLowTwoBitsOfFirstOctetAre10) {
  EXPECT_TRUE(Mac::Parse("02:00:00:00:00:01")->IsLocalUnicast());
  EXPECT_TRUE(Mac::Parse("fe:00:00:00:00:01")->IsLocalUnicast());
  EXPECT_FALSE(Mac::Parse("00:16:3e:00:00:01")->IsLocalUnicast());  // Xen's OUI: global
  EXPECT_FALSE(Mac::Parse("03:00:00:00:00:01")->IsLocalUnicast());  // multicast
  EXPECT_FALSE(Mac::Parse("01:00:5e:00:00:01")->IsLocalUnicast());
}

TEST(Ipv4PrefixTest, ParsesAndPrints) {
  const std::optional<Ipv4Prefix> p = Ipv4Prefix::Parse("198.18.0.11/24");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->address, 0xc612000bu);
  EXPECT_EQ(p->prefix_len, 24);
  EXPECT_EQ(p->AddressString(), "198.18.0.11");
  EXPECT_EQ(p->ToString(), "198.18.0.11/24");
  EXPECT_EQ(p->Netmask(), 0xffffff00u);
  EXPECT_EQ(p->Network(), 0xc6120000u);
  EXPECT_EQ(p->Broadcast(), 0xc61200ffu);
  EXPECT_TRUE(p->Contains(0xc6120064u));   // 198.18.0.100
  EXPECT_FALSE(p->Contains(0xc6120100u));  // 198.18.1.0
}

TEST(Ipv4PrefixTest, EdgePrefixLengths) {
  const Ipv4Prefix all = *Ipv4Prefix::Parse("0.0.0.0/0");
  EXPECT_EQ(all.Netmask(), 0u);
  EXPECT_TRUE(all.Contains(0xffffffffu));
  const Ipv4Prefix host = *Ipv4Prefix::Parse("255.255.255.255/32");
  EXPECT_EQ(host.Netmask(), 0xffffffffu);
  EXPECT_EQ(host.Broadcast(), 0xffffffffu);
  const Ipv4Prefix bench = *Ipv4Prefix::Parse("198.19.255.254/15");
  EXPECT_EQ((Ipv4Prefix{bench.Network(), 15}.ToString()), "198.18.0.0/15");
}

TEST(Ipv4PrefixTest, RejectsMalformed) {
  for (const char* text :
       {"", "198.18.0.11", "198.18.0.11/", "198.18.0.11/33", "198.18.0/24", "198.18.0.11.1/24",
        "198.18.0.256/24", "198.18.0.011/24", "198.18.0.11/024", "198.18..11/24", " 198.18.0.11/24",
        "198.18.0.11/2 4", "198.18.0.-1/24", "a.b.c.d/24", "198.18.0.11/24/1"}) {
    EXPECT_FALSE(Ipv4Prefix::Parse(text).has_value()) << text;
  }
}

TEST(TopologyTest, FindsByName) {
  Topology t;
  t.guests.resize(2);
  t.guests[0].name = "a";
  t.guests[1].name = "b";
  t.guests[1].domid = 2;
  t.external_hosts.resize(1);
  t.external_hosts[0].name = "gen";
  ASSERT_NE(t.FindGuest("b"), nullptr);
  EXPECT_EQ(t.FindGuest("b")->domid, 2);
  EXPECT_EQ(t.FindGuest("gen"), nullptr);
  EXPECT_EQ(t.FindGuest("dom0"), nullptr);
  ASSERT_NE(t.FindExternal("gen"), nullptr);
  EXPECT_EQ(t.FindExternal("gen"), &t.external_hosts[0]);
  EXPECT_EQ(t.FindExternal("a"), nullptr);

  Scenario s;
  s.configurations.resize(2);
  s.configurations[0].name = "x";
  s.configurations[1].name = "y";
  EXPECT_EQ(s.FindConfiguration("y"), &s.configurations[1]);
  EXPECT_EQ(s.FindConfiguration("z"), nullptr);
}

TEST(EnumTest, NamesMatchTheFileSpelling) {
  EXPECT_STREQ(ToString(Hook::kTc), "tc");
  EXPECT_STREQ(ToString(Hook::kXdp), "xdp");
  EXPECT_STREQ(ToString(InstallAt::kGuest), "guest");
  EXPECT_STREQ(ToString(InstallAt::kOffload), "offload");
  EXPECT_STREQ(ToString(InstallAt::kDom0), "dom0");
  EXPECT_STREQ(ToString(TimestampRequest::kAuto), "auto");
  EXPECT_STREQ(ToString(TimestampRequest::kAdapter), "adapter");
  EXPECT_STREQ(ToString(TimestampRequest::kAdapterUnsynced), "adapter_unsynced");
  EXPECT_STREQ(ToString(TimestampRequest::kHost), "host");
  EXPECT_STREQ(ToString(Order::kInterleaved), "interleaved");
  EXPECT_STREQ(ToString(Order::kSequential), "sequential");
}

}  // namespace
}  // namespace nfb::scenario
