// iperf3: command lines, and the -J parser against real outputs (tests/data/iperf3/README.md)
// and malformed text.
#include "nfb/workloads/iperf3.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "nfb/core/error.h"

namespace nfb::workloads {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Data(const std::string& name) {
  fs::path path = fs::path(NFB_SOURCE_DIR) / "tests/data/iperf3" / name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The InputError message of parsing `text`, or "" if it parsed.
std::string ParseError(const std::string& text) {
  try {
    ParseIperf3Json(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Commands

TEST(TcpListening, FindsAListeningPortInTcpAndTcp6Text) {
  // `cat /proc/net/tcp /proc/net/tcp6`: two headers; 0x1451 = 5201 listening (0A) in tcp6 only,
  // 0x0016 = 22 listening in tcp, 0x270F = 9999 only as an established connection (01).
  const std::string text =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n"
      "   1: 0B0012C6:270F 640012C6:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n"
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000000000000:1451 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1\n";
  EXPECT_TRUE(TcpListening(text, 5201));
  EXPECT_TRUE(TcpListening(text, 22));
  EXPECT_FALSE(TcpListening(text, 9999));
  EXPECT_FALSE(TcpListening(text, 80));
  EXPECT_FALSE(TcpListening("", 5201));
  EXPECT_FALSE(TcpListening("garbage\n0A\n", 5201));
}

TEST(Iperf3Command, ServerDefaults) {
  Iperf3ServerOptions o;
  EXPECT_THAT(Iperf3ServerCommand(o), ElementsAre("iperf3", "-s", "-1", "-J", "-p", "5201"));
}

TEST(Iperf3Command, ServerBindAndCpu) {
  Iperf3ServerOptions o;
  o.bind_address = "198.18.0.11";
  o.port = 5202;
  o.cpu = 1;
  EXPECT_THAT(Iperf3ServerCommand(o), ElementsAre("iperf3", "-s", "-1", "-J", "-p", "5202", "-B",
                                                  "198.18.0.11", "-A", "1"));
}

TEST(Iperf3Command, ClientThesisFlow) {
  Iperf3ClientOptions o;
  o.server_address = "198.18.0.11";
  EXPECT_THAT(Iperf3ClientCommand(o),
              ElementsAre("iperf3", "-c", "198.18.0.11", "-p", "5201", "-u", "-b", "1000000000",
                          "-l", "1448", "-t", "180", "-i", "1", "-J", "--connect-timeout", "5000",
                          "--get-server-output"));
}

TEST(Iperf3Command, ClientOptionalFlags) {
  Iperf3ClientOptions o;
  o.server_address = "198.18.0.11";
  o.rate_mbit = 2.5;
  o.datagram_bytes = 1472;
  o.duration_s = 10;
  o.interval_s = 0.5;
  o.client_port = 40000;
  o.cpu = 0;
  o.get_server_output = false;
  EXPECT_THAT(Iperf3ClientCommand(o),
              ElementsAre("iperf3", "-c", "198.18.0.11", "-p", "5201", "-u", "-b", "2500000", "-l",
                          "1472", "-t", "10", "-i", "0.5", "-J", "--connect-timeout", "5000",
                          "--cport", "40000", "-A", "0"));
}

TEST(Iperf3Command, RejectsBadOptions) {
  auto client = [](auto change) {
    Iperf3ClientOptions o;
    o.server_address = "198.18.0.11";
    change(o);
    return o;
  };
  EXPECT_THROW(Iperf3ClientCommand(client([](auto& o) { o.server_address = ""; })), InputError);
  EXPECT_THROW(Iperf3ClientCommand(client([](auto& o) { o.port = 0; })), InputError);
  EXPECT_THROW(Iperf3ClientCommand(client([](auto& o) { o.port = 65536; })), InputError);
  EXPECT_THROW(Iperf3ClientCommand(client([](auto& o) { o.rate_mbit = -1; })), InputError);
  EXPECT_THROW(Iperf3ClientCommand(client([](auto& o) { o.rate_mbit = NAN; })), InputError);
  EXPECT_THROW(Iperf3ClientCommand(client([](auto& o) { o.datagram_bytes = 15; })), InputError);
  EXPECT_THROW(Iperf3ClientCommand(client([](auto& o) { o.datagram_bytes = 65508; })), InputError);
  EXPECT_THROW(Iperf3ClientCommand(client([](auto& o) { o.duration_s = 0; })), InputError);
  EXPECT_THROW(Iperf3ClientCommand(client([](auto& o) { o.interval_s = 0.05; })), InputError);
  EXPECT_THROW(Iperf3ClientCommand(client([](auto& o) { o.client_port = 70000; })), InputError);
  EXPECT_THROW(Iperf3ClientCommand(client([](auto& o) { o.cpu = -1; })), InputError);
  Iperf3ServerOptions s;
  s.port = -3;
  EXPECT_THROW(Iperf3ServerCommand(s), InputError);
}

// ---------------------------------------------------------------------------------------------
// Real outputs

TEST(Iperf3Parse, CompleteClientWithServerOutput) {
  Iperf3Report r = ParseIperf3Json(Data("udp_client.json"));
  EXPECT_EQ(r.role, Iperf3Role::kClient);
  EXPECT_EQ(r.version, "iperf 3.12");
  EXPECT_EQ(r.protocol, "UDP");
  EXPECT_EQ(r.target_bitrate, 1'000'000'000u);
  EXPECT_EQ(r.block_bytes, 1448u);
  EXPECT_EQ(r.duration_s, 5u);
  EXPECT_EQ(r.start_timesecs, 1795303678u);
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.interrupted);
  EXPECT_FALSE(r.Failed());

  ASSERT_TRUE(r.sent);
  ASSERT_EQ(r.sent->intervals.size(), 5u);
  const Iperf3Interval& second = r.sent->intervals[1];
  EXPECT_DOUBLE_EQ(second.start_s, 1.00008);
  EXPECT_DOUBLE_EQ(second.end_s, 2.000007);
  EXPECT_EQ(second.bytes, 125068104u);
  EXPECT_EQ(second.packets, 86373u);
  EXPECT_EQ(second.lost_packets, 0);  // the sender knows nothing of loss
  EXPECT_NEAR(second.bits_per_second, 1000617892.8057194, 1e-3);
  ASSERT_TRUE(r.sent->total);
  EXPECT_EQ(r.sent->total->bytes, 624919152u);
  EXPECT_EQ(r.sent->total->packets, 431574u);

  // From server_output_json.
  ASSERT_TRUE(r.received);
  EXPECT_TRUE(r.received_from_server_output);
  ASSERT_EQ(r.received->intervals.size(), 5u);
  const Iperf3Interval& first = r.received->intervals[0];
  EXPECT_EQ(first.bytes, 88403296u);
  EXPECT_EQ(first.packets, 86277u);
  EXPECT_EQ(first.lost_packets, 25225);
  EXPECT_NEAR(first.lost_percent, 29.237224289208015, 1e-12);
  EXPECT_NEAR(first.jitter_ms, 0.010698474916284503, 1e-15);
  ASSERT_TRUE(r.received->total);
  EXPECT_EQ(r.received->total->bytes, 575646608u);
  EXPECT_EQ(r.received->total->lost_packets, 33956);
}

TEST(Iperf3Parse, CompleteServer) {
  Iperf3Report r = ParseIperf3Json(Data("udp_server.json"));
  EXPECT_EQ(r.role, Iperf3Role::kServer);
  EXPECT_FALSE(r.sent);
  ASSERT_TRUE(r.received);
  EXPECT_FALSE(r.received_from_server_output);
  ASSERT_EQ(r.received->intervals.size(), 5u);
  int64_t lost = 0;
  uint64_t bytes = 0, packets = 0;
  for (const Iperf3Interval& i : r.received->intervals) {
    lost += i.lost_packets;
    bytes += i.bytes;
    packets += i.packets;
    EXPECT_EQ((i.packets - uint64_t(i.lost_packets)) * 1448,
              i.bytes);  // received = expected - lost
  }
  EXPECT_EQ(lost, 33956);
  EXPECT_EQ(r.received->intervals[2].lost_packets, 3372);
  // The total is end.sum_received, not end.sum (whose bytes are 0 on a UDP server).
  ASSERT_TRUE(r.received->total);
  EXPECT_EQ(r.received->total->bytes, bytes);
  EXPECT_EQ(r.received->total->packets, packets);
  EXPECT_EQ(r.received->total->lost_packets, 33956);
  EXPECT_NEAR(r.received->total->lost_percent, 7.8692566894243825, 1e-12);
}

TEST(Iperf3Parse, ConnectionRefused) {
  Iperf3Report r = ParseIperf3Json(Data("refused_client.json"));
  EXPECT_EQ(r.error, "unable to connect to server: Connection refused");
  EXPECT_TRUE(r.Failed());
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.role, Iperf3Role::kUnknown);
  EXPECT_FALSE(r.sent);
  EXPECT_FALSE(r.received);
  EXPECT_EQ(r.protocol, "");
}

TEST(Iperf3Parse, ClientInterrupted) {
  Iperf3Report client = ParseIperf3Json(Data("client_sigint_client.json"));
  EXPECT_EQ(client.error, "interrupt - the client has terminated");
  EXPECT_TRUE(client.interrupted);
  EXPECT_FALSE(client.Failed());
  ASSERT_TRUE(client.sent);
  ASSERT_EQ(client.sent->intervals.size(), 4u);
  EXPECT_NEAR(client.sent->intervals[3].seconds, 0.49598100781440735, 1e-12);
  EXPECT_EQ(client.sent->intervals[3].packets, 4282u);
  EXPECT_EQ(client.sent->total->packets, 30173u);
  EXPECT_FALSE(client.received);  // no server_output_json after an interrupt

  Iperf3Report server = ParseIperf3Json(Data("client_sigint_server.json"));
  EXPECT_EQ(server.error, "the client has terminated");
  EXPECT_TRUE(server.peer_terminated);
  EXPECT_FALSE(server.interrupted);
  EXPECT_FALSE(server.Failed());
  ASSERT_TRUE(server.received);
  // Four intervals in the file; the last repeats the third (iperf3 3.12) and is dropped.
  ASSERT_EQ(server.received->intervals.size(), 3u);
  EXPECT_EQ(server.received->repeated_intervals, 1);
  EXPECT_DOUBLE_EQ(server.received->intervals[2].end_s, 3.000106);
  EXPECT_EQ(server.received->intervals[2].packets, 8632u);
  EXPECT_EQ(server.received->total->packets, 30173u);
  EXPECT_EQ(server.received->total->lost_packets, 0);

  Iperf3Report combined = CombineIperf3Reports(client, server);
  ASSERT_TRUE(combined.sent);
  ASSERT_TRUE(combined.received);
  EXPECT_FALSE(combined.received_from_server_output);
  EXPECT_EQ(combined.received->intervals.size(), 3u);
  EXPECT_EQ(combined.server_error, "the client has terminated");
  EXPECT_EQ(combined.error, "interrupt - the client has terminated");
}

TEST(Iperf3Parse, ServerInterrupted) {
  Iperf3Report server = ParseIperf3Json(Data("server_sigint_server.json"));
  EXPECT_EQ(server.error, "interrupt - the server has terminated");
  EXPECT_TRUE(server.interrupted);
  ASSERT_EQ(server.received->intervals.size(), 3u);
  EXPECT_EQ(server.received->intervals[1].bytes, 12499136u);
  EXPECT_EQ(server.received->total->packets, 21557u);
  EXPECT_DOUBLE_EQ(server.received->total->end_s, 2.497715);

  Iperf3Report client = ParseIperf3Json(Data("server_sigint_client.json"));
  EXPECT_EQ(client.error, "the server has terminated");
  EXPECT_TRUE(client.peer_terminated);
  EXPECT_FALSE(client.Failed());
  // The same repetition on the side whose peer went away: three intervals, the last twice.
  ASSERT_EQ(client.sent->intervals.size(), 2u);
  EXPECT_EQ(client.sent->repeated_intervals, 1);
  EXPECT_EQ(client.sent->total->packets, 21557u);
}

TEST(Iperf3Parse, CombinePrefersTheServersOwnFile) {
  Iperf3Report client = ParseIperf3Json(Data("udp_client.json"));
  Iperf3Report server = ParseIperf3Json(Data("udp_server.json"));
  Iperf3Report combined = CombineIperf3Reports(client, server);
  EXPECT_FALSE(combined.received_from_server_output);
  EXPECT_EQ(combined.received->intervals[0].lost_packets, 25225);
  // Without the server's file, the client's copy is kept.
  Iperf3Report alone = CombineIperf3Reports(client, std::nullopt);
  EXPECT_TRUE(alone.received_from_server_output);
  EXPECT_EQ(alone.received->intervals.size(), 5u);
}

TEST(Iperf3Parse, ToJsonKeepsTheNumbers) {
  nlohmann::json j = ToJson(ParseIperf3Json(Data("udp_client.json")));
  EXPECT_EQ(j["role"], "client");
  EXPECT_EQ(j["sent"]["intervals"].size(), 5u);
  EXPECT_EQ(j["received"]["intervals"][0]["lost_packets"], 25225);
  EXPECT_EQ(j["received"]["total"]["bytes"], 575646608u);
  EXPECT_FALSE(j["sent"]["intervals"][0].contains("jitter_ms"));
  nlohmann::json refused = ToJson(ParseIperf3Json(Data("refused_client.json")));
  EXPECT_TRUE(refused["sent"].is_null());
  EXPECT_EQ(refused["error"], "unable to connect to server: Connection refused");
}

// ---------------------------------------------------------------------------------------------
// Malformed input

// Replaces the first occurrence of `from` in the server's real output, by default the first
// after intervals[0].sum begins (the same fields come first in intervals[0].streams[0], which
// the parser does not read).
std::string ServerWith(const std::string& from, const std::string& to, bool in_first_sum = true) {
  std::string text = Data("udp_server.json");
  size_t at = text.find(from, in_first_sum ? text.find("\"sum\":\t{") : 0);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(Iperf3Malformed, EmptyAndTruncated) {
  EXPECT_THAT(ParseError(""), HasSubstr("empty output"));
  EXPECT_THAT(ParseError("  \n"), HasSubstr("empty output"));
  std::string text = Data("udp_client.json");
  for (size_t cut : {size_t(1), size_t(100), text.size() / 2, text.size() - 2}) {
    std::string error = ParseError(text.substr(0, cut));
    EXPECT_THAT(error, HasSubstr("iperf3 JSON: parse error")) << cut;
    EXPECT_THAT(error, ::testing::Not(HasSubstr("[json.exception"))) << cut;
  }
  EXPECT_THAT(ParseError("iperf3: error - unable to connect to server"), HasSubstr("parse error"));
}

TEST(Iperf3Malformed, WrongShapes) {
  EXPECT_THAT(ParseError("[]"), HasSubstr("(top level): expected an object, got array"));
  EXPECT_THAT(ParseError("{}"), HasSubstr("start: missing"));
  EXPECT_THAT(ParseError(R"({"start": 3})"), HasSubstr("start: expected an object"));
  EXPECT_THAT(ParseError(R"({"start": {}})"), HasSubstr("intervals: missing"));
  EXPECT_THAT(ParseError(R"({"start": {}, "intervals": {}, "end": {}})"),
              HasSubstr("intervals: expected an array, got object"));
  EXPECT_THAT(ParseError(R"({"start": {}, "intervals": [], "end": [], "error": ""})"),
              HasSubstr("end: expected an object"));
  EXPECT_THAT(ParseError(R"({"start": {}, "intervals": [], "end": {}, "error": 5})"),
              HasSubstr("error: expected a string, got an integer"));
  EXPECT_THAT(ParseError(R"({"start": {}, "intervals": [{"sum": {}}], "end": {}})"),
              HasSubstr("cannot tell sender from receiver"));
}

TEST(Iperf3Malformed, FieldTypes) {
  EXPECT_THAT(ParseError(ServerWith("\"bytes\":\t88403296", "\"bytes\": \"88403296\"")),
              HasSubstr("intervals[0].sum.bytes: expected a non-negative integer, got string"));
  EXPECT_THAT(ParseError(ServerWith("\"bytes\":\t88403296", "\"bytes\": -5")),
              HasSubstr("intervals[0].sum.bytes: expected a non-negative integer, got -5"));
  EXPECT_THAT(ParseError(ServerWith("\"bytes\":\t88403296", "\"bytes\": 1.5")),
              HasSubstr("intervals[0].sum.bytes: expected a non-negative integer below 2^64"));
  EXPECT_THAT(ParseError(ServerWith("\"lost_packets\":\t25225", "\"lost_packets\": true")),
              HasSubstr("intervals[0].sum.lost_packets: expected an integer, got boolean"));
  EXPECT_THAT(
      ParseError(ServerWith("\"jitter_ms\":\t0.010698474916284503", "\"jitter_ms\": \"x\"")),
      HasSubstr("intervals[0].sum.jitter_ms: expected a number, got string"));
  EXPECT_THAT(ParseError(ServerWith("\"sender\":\tfalse", "\"sender\": 0")),
              HasSubstr("sender: expected true or false, got an integer"));
  EXPECT_THAT(ParseError(ServerWith("\"sender\":\tfalse", "\"sender\": true")),
              HasSubstr("intervals[0].sum.sender: is true in the receiver's output"));
  EXPECT_THAT(ParseError(ServerWith("\"protocol\":\t\"UDP\"", "\"protocol\": \"TCP\"", false)),
              HasSubstr("only UDP tests are read"));
  EXPECT_THAT(ParseError(ServerWith("\"start\":\t0,", "\"start\": null,")),
              HasSubstr("expected a number, got null"));
  EXPECT_THAT(ParseError(ServerWith("\"version\":\t\"iperf 3.12\"", "\"version\": [1]", false)),
              HasSubstr("start.version: expected a string, got array"));
}

TEST(Iperf3Malformed, MissingFields) {
  EXPECT_THAT(ParseError(ServerWith("\"lost_packets\":\t25225,", "")),
              HasSubstr("intervals[0].sum.lost_packets: missing"));
  EXPECT_THAT(ParseError(ServerWith("\"sum\":", "\"total\":", false)),
              HasSubstr("intervals[0].sum: missing"));
  EXPECT_THAT(ParseError(ServerWith("\"sum_received\":", "\"sum_other\":", false)),
              HasSubstr("end.sum_received: missing"));
}

TEST(Iperf3Malformed, HugeNumbers) {
  EXPECT_THAT(ParseError(ServerWith("\"bytes\":\t88403296", "\"bytes\": 1e400")),
              HasSubstr("number overflow"));
  EXPECT_THAT(ParseError(ServerWith("\"bytes\":\t88403296", "\"bytes\": 18446744073709551616")),
              HasSubstr("below 2^64"));
  EXPECT_THAT(ParseError(ServerWith("\"lost_packets\":\t25225", "\"lost_packets\": 1e300")),
              HasSubstr("expected an integer"));
  EXPECT_THAT(
      ParseError(ServerWith("\"lost_packets\":\t25225", "\"lost_packets\": 18446744073709551615")),
      HasSubstr("integer out of range"));
  // cJSON prints whole numbers from 1e15 in exponent form: still a count.
  Iperf3Report r = ParseIperf3Json(ServerWith("\"bytes\":\t88403296", "\"bytes\": 1.5e+15"));
  EXPECT_EQ(r.received->intervals[0].bytes, 1'500'000'000'000'000u);
  // NaN and infinity come out of cJSON as null: accepted for rates.
  r = ParseIperf3Json(
      ServerWith("\"bits_per_second\":\t707113919.07306921", "\"bits_per_second\": null"));
  EXPECT_TRUE(std::isnan(r.received->intervals[0].bits_per_second));
  EXPECT_THAT(ParseError(std::string(65u << 20, ' ')), HasSubstr("more than the 64 MiB"));
}

TEST(Iperf3Malformed, DeepNestingAndBackwardsTime) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_THAT(ParseError(deep), HasSubstr("expected an object"));
  EXPECT_THAT(ParseError(ServerWith("\"end\":\t1.000159", "\"end\": -1")),
              HasSubstr("runs backwards"));
}

TEST(Iperf3Malformed, ServerOutputInTheWrongPlace) {
  std::string server = Data("udp_server.json");
  // A server's output carrying another server's.
  std::string text = server;
  text.insert(text.rfind('}'), ", \"server_output_json\": {}");
  EXPECT_THAT(ParseError(text), HasSubstr("only a client's output carries the server's"));
  // A client whose server_output_json is a client's.
  std::string client = Data("client_sigint_client.json");
  text = client;
  text.insert(text.rfind('}'), ", \"server_output_json\": " + client);
  EXPECT_THAT(ParseError(text), HasSubstr("server_output_json.start: is not a server's"));
  text = client;
  text.insert(text.rfind('}'), ", \"server_output_json\": 7");
  EXPECT_THAT(ParseError(text), HasSubstr("server_output_json: expected an object"));
}

}  // namespace
}  // namespace nfb::workloads
