#include "commands.h"

#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "xenbpf/xenbpf.h"

namespace nfb::xenbpf_load {
namespace {

using nlohmann::json;

const std::map<std::string, uint64_t> kFlags = {
    {"any", XENBPF_ANY}, {"noexist", XENBPF_NOEXIST}, {"exist", XENBPF_EXIST}};

// "0a0b", "0x0a0b" or "" (an empty key); bytes in memory order.
std::optional<std::vector<uint8_t>> ParseHex(std::string_view text) {
  if (text.substr(0, 2) == "0x" || text.substr(0, 2) == "0X") text.remove_prefix(2);
  if (text.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> bytes;
  bytes.reserve(text.size() / 2);
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = nibble(text[i]);
    const int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return bytes;
}

std::string Hex(const std::vector<uint8_t>& bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

json MapJson(const struct xenbpf_map_info& m) {
  return {{"id", m.id},
          {"name", m.name},
          {"type", m.type},
          {"key_size", m.key_size},
          {"value_size", m.value_size},
          {"max_entries", m.max_entries}};
}

// Prints one result line and flushes it: a parent reading a --hold session's stdout waits for
// exactly these lines.
void Print(const Output& out, const json& as_json, const std::string& as_text) {
  std::cout << (out.json ? as_json.dump() : as_text) << std::endl;
}

Exit Refused(::xenbpf* h, int rc, const std::string& what, Failure* failure) {
  failure->code = kRefused;
  failure->error = rc;
  failure->message = fmt::format("{}: {} ({})", what, xenbpf_errmsg(h), std::strerror(-rc));
  return kRefused;
}

Exit BadInput(std::string message, Failure* failure) {
  failure->code = kBadInput;
  failure->error = -EINVAL;
  failure->message = std::move(message);
  return kBadInput;
}

// Writes the --set entries into the maps of the object just loaded as `prog_id`. Returns kOk, or
// the failure's code after unloading the program again (so a load with a missing setting does
// not stay in dom0). `done` gets one JSON object per entry written.
Exit ApplySets(::xenbpf* h, uint32_t prog_id, const std::vector<MapSet>& sets,
               const std::vector<struct xenbpf_map_info>& maps, json* done, std::string* text,
               Failure* failure) {
  for (const MapSet& set : sets) {
    const auto map = std::find_if(maps.begin(), maps.end(), [&](const struct xenbpf_map_info& m) {
      return set.map == m.name;
    });
    std::string error;
    std::vector<uint8_t> key = set.key;
    if (map == maps.end()) {
      std::string names;
      for (const auto& m : maps) names += fmt::format("{}{}", names.empty() ? "" : ", ", m.name);
      error = fmt::format("--set: the object has no map '{}' (maps: {})", set.map,
                          names.empty() ? "none" : names);
    } else if (set.index && map->key_size != sizeof(uint32_t)) {
      error = fmt::format(
          "--set {}: a decimal key needs 4-byte keys, the map has {}-byte keys "
          "(give the key as 0x-prefixed hex bytes)",
          set.map, map->key_size);
    } else if (!set.index && key.size() != map->key_size) {
      error = fmt::format("--set {}: the key has {} bytes, the map takes {}", set.map, key.size(),
                          map->key_size);
    } else if (set.value.size() != map->value_size) {
      error = fmt::format("--set {}: the value has {} bytes, the map takes {}", set.map,
                          set.value.size(), map->value_size);
    }
    if (set.index) {
      key.resize(sizeof(uint32_t));
      std::memcpy(key.data(), &*set.index, sizeof(uint32_t));
    }
    Exit result = kOk;
    if (!error.empty()) {
      result = BadInput(std::move(error), failure);
    } else if (const int rc = xenbpf_update_elem(h, map->id, key.data(), key.size(),
                                                 set.value.data(), set.value.size(), XENBPF_ANY);
               rc < 0) {
      result = Refused(h, rc, fmt::format("--set: update map {} ({})", map->id, set.map), failure);
    }
    if (result != kOk) {
      if (const int rc = xenbpf_unload(h, prog_id); rc < 0) {
        failure->message +=
            fmt::format("; unloading program {} again failed too: {}", prog_id, xenbpf_errmsg(h));
      }
      return result;
    }
    done->push_back(
        {{"map_id", map->id}, {"map", set.map}, {"key", Hex(key)}, {"value", Hex(set.value)}});
    *text += fmt::format(" set {}:{}={}", set.map, Hex(key), Hex(set.value));
  }
  return kOk;
}

Exit Load(::xenbpf* h, const Command& c, const Output& out, Failure* failure) {
  // Settings are checked before anything is loaded; whether their map exists and their sizes
  // fit is known only from the load's answer.
  std::vector<MapSet> sets;
  for (const std::string& text : c.sets) {
    std::string error;
    std::optional<MapSet> set = ParseMapSet(text, &error);
    if (!set) return BadInput(fmt::format("--set {}: {}", text, error), failure);
    sets.push_back(std::move(*set));
  }
  std::ifstream in(c.object, std::ios::binary);
  if (!in)
    return BadInput(fmt::format("cannot open {}: {}", c.object, std::strerror(errno)), failure);
  const std::vector<char> object((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
  if (in.bad()) return BadInput(fmt::format("cannot read {}", c.object), failure);
  if (object.size() > XENBPF_MAX_OBJECT_SIZE) {
    return BadInput(
        fmt::format("{} has {} bytes, the limit is {} (strip debug info: llvm-strip -g)", c.object,
                    object.size(), XENBPF_MAX_OBJECT_SIZE),
        failure);
  }
  uint32_t prog_id = 0;
  std::vector<struct xenbpf_map_info> maps(XENBPF_MAX_MAPS);
  size_t n_maps = maps.size();
  const int rc = xenbpf_load_elf(h, object.data(), object.size(),
                                 c.program.empty() ? nullptr : c.program.c_str(), &prog_id,
                                 maps.data(), &n_maps);
  if (rc < 0) return Refused(h, rc, "load " + c.object, failure);
  maps.resize(n_maps);
  json j = {{"program_id", prog_id}, {"maps", json::array()}};
  std::string text = fmt::format("program {} maps", prog_id);
  for (const auto& m : maps) {
    j["maps"].push_back(MapJson(m));
    text += fmt::format(" {}={}", m.name, m.id);
  }
  if (maps.empty()) text += " -";
  if (!sets.empty()) {
    json done = json::array();
    if (const Exit e = ApplySets(h, prog_id, sets, maps, &done, &text, failure); e != kOk) {
      return e;
    }
    j["set"] = std::move(done);
  }
  Print(out, j, text);
  return kOk;
}

Exit MapCommand(::xenbpf* h, const Command& c, const Output& out, Failure* failure) {
  const auto key = ParseHex(c.key);
  if (!key) return BadInput(fmt::format("key '{}' is not hex bytes", c.key), failure);
  if (c.verb == Verb::kMapDelete) {
    const int rc = xenbpf_delete_elem(h, c.id, key->data(), key->size());
    if (rc < 0) return Refused(h, rc, fmt::format("delete from map {}", c.id), failure);
    Print(out, {{"ok", true}}, "ok");
    return kOk;
  }
  if (c.verb == Verb::kMapUpdate) {
    const auto value = ParseHex(c.value);
    if (!value) return BadInput(fmt::format("value '{}' is not hex bytes", c.value), failure);
    const auto flags = kFlags.find(c.flags);
    if (flags == kFlags.end()) {
      return BadInput(fmt::format("--flags {}: use any, noexist or exist", c.flags), failure);
    }
    const int rc = xenbpf_update_elem(h, c.id, key->data(), key->size(), value->data(),
                                      value->size(), flags->second);
    if (rc < 0) return Refused(h, rc, fmt::format("update map {}", c.id), failure);
    Print(out, {{"ok", true}}, "ok");
    return kOk;
  }
  // Lookup: the value's size (per-CPU maps: all CPUs) comes from the map's description.
  struct xenbpf_map_info info {};
  int rc = xenbpf_map_info(h, c.id, &info);
  if (rc < 0) return Refused(h, rc, fmt::format("map {}", c.id), failure);
  std::vector<uint8_t> value(info.value_size);
  rc = xenbpf_lookup_elem(h, c.id, key->data(), key->size(), value.data(), value.size());
  if (rc < 0) return Refused(h, rc, fmt::format("lookup in map {}", c.id), failure);
  Print(out, {{"map_id", c.id}, {"key", Hex(*key)}, {"value", Hex(value)}}, Hex(value));
  return kOk;
}

bool WatchStdin() {
  // A pipe or socket ends when the parent goes away, a terminal with ^D; /dev/null or a file
  // would end at once, which must not unload the program of a loader started without input.
  struct stat st {};
  if (::fstat(STDIN_FILENO, &st) != 0) return false;
  return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || ::isatty(STDIN_FILENO) == 1;
}

void PrintLineError(const Output& out, int code, const std::string& message) {
  Print(out, {{"error", {{"code", code}, {"message", message}}}},
        fmt::format("error {} {}", code, message));
}

// Runs one stdin line. Returns false when the line asks to end the session.
bool RunLine(::xenbpf* h, const std::string& line, const Output& out) {
  if (line.find_first_not_of(" \t\r") == std::string::npos) return true;
  Command command;
  CLI::App app{"xenbpf-load session command"};
  AddCommands(app, command, /*line=*/true);
  try {
    app.parse(line, /*program_name_included=*/false);
  } catch (const CLI::ParseError& e) {
    PrintLineError(out, -EINVAL, e.what());
    return true;
  }
  if (command.verb == Verb::kNone) return false;  // quit
  Failure failure;
  if (Execute(h, command, out, &failure) != kOk) {
    PrintLineError(out, failure.error, failure.message);
  }
  return true;
}

}  // namespace

std::optional<MapSet> ParseMapSet(const std::string& text, std::string* error) {
  const size_t colon = text.find(':');
  const size_t equals = colon == std::string::npos ? std::string::npos : text.find('=', colon);
  if (colon == 0 || equals == std::string::npos) {
    *error = "expected MAP:KEY=VALUE, e.g. udp_drop_config:0=0x00000000270f0000";
    return std::nullopt;
  }
  MapSet set;
  set.map = text.substr(0, colon);
  const std::string key = text.substr(colon + 1, equals - colon - 1);
  if (key.size() > 2 && (key.rfind("0x", 0) == 0 || key.rfind("0X", 0) == 0)) {
    std::optional<std::vector<uint8_t>> bytes = ParseHex(key);
    if (!bytes) {
      *error = fmt::format("key '{}' is not hex bytes", key);
      return std::nullopt;
    }
    set.key = std::move(*bytes);
  } else {
    // A decimal index; hex without the prefix would be ambiguous ("10").
    uint64_t index = 0;
    const bool digits = !key.empty() && key.size() <= 10 &&
                        key.find_first_not_of("0123456789") == std::string::npos;
    if (digits) index = std::stoull(key);
    if (!digits || index > UINT32_MAX) {
      *error = fmt::format("key '{}' is neither a decimal index up to {} nor 0x-prefixed hex bytes",
                           key, UINT32_MAX);
      return std::nullopt;
    }
    set.index = static_cast<uint32_t>(index);
  }
  std::optional<std::vector<uint8_t>> value = ParseHex(text.substr(equals + 1));
  if (!value || value->empty()) {
    *error = fmt::format("value '{}' is not hex bytes", text.substr(equals + 1));
    return std::nullopt;
  }
  set.value = std::move(*value);
  return set;
}

void AddCommands(CLI::App& app, Command& c, bool line) {
  app.require_subcommand(1);
  CLI::App* load = app.add_subcommand("load", "load an ELF object's tc program in dom0");
  load->add_option("object", c.object, "the .bpf.o file")->required();
  load->add_option("--program", c.program, "program (function) name; default: the only tc one");
  load->add_option("--set", c.sets,
                   "MAP:KEY=VALUE: write a map entry right after the load (repeatable, in "
                   "order); KEY a decimal index or 0x-prefixed hex bytes, VALUE hex bytes; a "
                   "failed write unloads the program again")
      ->allow_extra_args(false);
  if (!line) {
    load->add_flag("--hold", c.hold,
                   "stay connected (the program stays loaded) until SIGTERM/SIGINT or the end "
                   "of stdin; run commands read from stdin meanwhile");
  }
  load->callback([&c] { c.verb = Verb::kLoad; });

  CLI::App* unload = app.add_subcommand("unload", "detach and unload a program and its maps");
  unload->add_option("id", c.id, "program id")->required();
  unload->callback([&c] { c.verb = Verb::kUnload; });

  CLI::App* map = app.add_subcommand("map", "read and write a loaded object's maps");
  map->require_subcommand(1);
  CLI::App* lookup = map->add_subcommand("lookup", "print the value of a key (hex)");
  CLI::App* update = map->add_subcommand("update", "store a value under a key");
  CLI::App* del = map->add_subcommand("delete", "remove a key");
  CLI::App* info = map->add_subcommand("info", "print a map's type and sizes");
  for (CLI::App* sub : {lookup, update, del, info}) {
    sub->add_option("map", c.id, "map id")->required();
  }
  for (CLI::App* sub : {lookup, update, del}) {
    sub->add_option("key", c.key, "key as hex bytes in memory order, e.g. 00000000")->required();
  }
  update->add_option("value", c.value, "value as hex bytes in memory order")->required();
  update->add_option("--flags", c.flags, "any (create or replace), noexist, exist")
      ->capture_default_str()
      ->check(CLI::IsMember({"any", "noexist", "exist"}));
  lookup->callback([&c] { c.verb = Verb::kMapLookup; });
  update->callback([&c] { c.verb = Verb::kMapUpdate; });
  del->callback([&c] { c.verb = Verb::kMapDelete; });
  info->callback([&c] { c.verb = Verb::kMapInfo; });

  CLI::App* stats = app.add_subcommand("stats", "packets and dom0 CPU time counted for this guest");
  stats->callback([&c] { c.verb = Verb::kStats; });

  if (line) {
    app.add_subcommand("quit", "end the session")->alias("exit");
  }
}

Exit Execute(::xenbpf* h, const Command& c, const Output& out, Failure* failure) {
  switch (c.verb) {
    case Verb::kLoad:
      return Load(h, c, out, failure);
    case Verb::kUnload: {
      const int rc = xenbpf_unload(h, c.id);
      if (rc < 0) return Refused(h, rc, fmt::format("unload {}", c.id), failure);
      Print(out, {{"unloaded", c.id}}, fmt::format("unloaded {}", c.id));
      return kOk;
    }
    case Verb::kMapLookup:
    case Verb::kMapUpdate:
    case Verb::kMapDelete:
      return MapCommand(h, c, out, failure);
    case Verb::kMapInfo: {
      struct xenbpf_map_info info {};
      const int rc = xenbpf_map_info(h, c.id, &info);
      if (rc < 0) return Refused(h, rc, fmt::format("map {}", c.id), failure);
      Print(out, MapJson(info),
            fmt::format("map {} {} type {} key {} value {} entries {}", info.id, info.name,
                        info.type, info.key_size, info.value_size, info.max_entries));
      return kOk;
    }
    case Verb::kStats: {
      struct xenbpf_stats s {};
      const int rc = xenbpf_stats(h, &s);
      if (rc < 0) return Refused(h, rc, "stats", failure);
      Print(out,
            {{"packets", s.packets},
             {"bytes", s.bytes},
             {"cpu_ns", s.cpu_ns},
             {"cost_ps", s.cost_ps},
             {"method", s.method}},
            fmt::format("packets {} bytes {} cpu_ns {} cost_ps {} method {}", s.packets, s.bytes,
                        s.cpu_ns, s.cost_ps, s.method));
      return kOk;
    }
    case Verb::kNone:
      break;
  }
  return BadInput("no command", failure);
}

Exit Hold(::xenbpf* h, const Output& out, Failure* failure) {
  // The caller blocked these signals before connecting, so one sent during the load is not lost.
  sigset_t signals;
  sigemptyset(&signals);
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
  const int sfd = ::signalfd(-1, &signals, SFD_CLOEXEC);
  if (sfd < 0) {
    failure->code = kRefused;
    failure->message = fmt::format("signalfd: {}", std::strerror(errno));
    return kRefused;
  }
  const bool watch_stdin = WatchStdin();
  std::string pending;
  Exit result = kOk;
  for (bool running = true; running;) {
    pollfd fds[3] = {{sfd, POLLIN, 0}, {xenbpf_fd(h), POLLIN, 0}, {-1, POLLIN, 0}};
    if (watch_stdin) fds[2].fd = STDIN_FILENO;
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      failure->code = kRefused;
      failure->message = fmt::format("poll: {}", std::strerror(errno));
      result = kRefused;
      break;
    }
    if (fds[0].revents != 0) break;  // a signal: disconnect
    if (fds[1].revents != 0) {
      // bpfd never speaks unasked: this is the end of the session, and a request reports why.
      // Except on a vchan, whose event channel can also wake for a notification whose data was
      // already read: a request that succeeds means the session is alive.
      struct xenbpf_stats s {};
      const int rc = xenbpf_stats(h, &s);
      if (rc == 0) continue;
      failure->code = kRefused;
      failure->message = fmt::format("bpfd ended the session: {} ({})", xenbpf_errmsg(h),
                                     std::strerror(rc < 0 ? -rc : ECONNRESET));
      result = kRefused;
      break;
    }
    if (fds[2].revents != 0) {
      char buffer[4096];
      const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // end of stdin: disconnect
      pending.append(buffer, static_cast<size_t>(n));
      for (size_t end; running && (end = pending.find('\n')) != std::string::npos;) {
        const std::string line = pending.substr(0, end);
        pending.erase(0, end + 1);
        running = RunLine(h, line, out);
      }
      if (pending.size() > 64 * 1024) pending.clear();  // not a command line; drop it
    }
  }
  ::close(sfd);
  return result;
}

}  // namespace nfb::xenbpf_load
