// xenbpf-load's commands: one grammar (CLI11) for the command line and for the lines a --hold
// session reads on stdin, one executor over a libxenbpf connection. docs/libxenbpf.md has the
// usage.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct xenbpf;

namespace nfb::xenbpf_load {

// Exit codes, as nfbench's (nfb::ExitCode): 2 bad input, 3 cannot connect, 4 bpfd refused or
// the session broke.
enum Exit : int { kOk = 0, kBadInput = 2, kCannotConnect = 3, kRefused = 4 };

enum class Verb { kNone, kLoad, kUnload, kMapLookup, kMapUpdate, kMapDelete, kMapInfo, kStats };

// One parsed command with its arguments.
struct Command {
  Verb verb = Verb::kNone;
  std::string object;   // load: path of the .bpf.o
  std::string program;  // load --program
  bool hold = false;    // load --hold (command line only)
  uint32_t id = 0;      // unload: program id; map *: map id
  std::string key;      // hex
  std::string value;    // hex
  std::string flags = "any";
  // load --set MAP:KEY=VALUE, in order: map entries written right after the load, before the
  // result line is printed (see ParseMapSet).
  std::vector<std::string> sets;
};

// Adds load/unload/map/stats to `app`, each storing into `command` when it is parsed. `line`:
// for stdin lines of a --hold session (no --hold option, quit/exit accepted).
void AddCommands(CLI::App& app, Command& command, bool line);

// One `load --set MAP:KEY=VALUE`: an entry of one of the loaded object's maps, written right
// after the load and before the result line. (bpfd attaches the program at the load, so until
// then it sees traffic with its maps as the object creates them.) MAP is the map's name in the
// object, as the load result lists it; KEY is a decimal index (a 4-byte key, as arrays have, in
// host byte order) or hex bytes in memory order with a 0x prefix; VALUE is hex bytes in memory
// order (0x optional), as `map update` takes them.
struct MapSet {
  std::string map;
  std::optional<uint32_t> index;  // KEY as a decimal index
  std::vector<uint8_t> key;       // KEY as 0x-prefixed hex bytes (when index is empty)
  std::vector<uint8_t> value;
};

// Parses one --set argument; nullopt with `error` set when it is malformed.
std::optional<MapSet> ParseMapSet(const std::string& text, std::string* error);

// An error for the user: message and exit code.
struct Failure {
  Exit code = kOk;
  int error = 0;  // negative errno
  std::string message;
};

// Prints results one line each on stdout, as text or JSON.
struct Output {
  bool json = false;
};

// Runs `command` on the connection and prints its result line. Returns kOk, or a Failure's code
// after printing nothing (the caller reports `failure`).
Exit Execute(::xenbpf* h, const Command& command, const Output& out, Failure* failure);

// After a successful `load --hold`: keeps the connection (and so the program) until SIGINT,
// SIGTERM or SIGHUP, or until stdin ends when stdin is a pipe, socket or terminal, and runs the
// commands read from stdin meanwhile (one per line; each answered with one line on stdout, an
// error as "error <errno> <message>" or {"error":...}). Returns kOk, or kRefused when bpfd
// ended the session.
Exit Hold(::xenbpf* h, const Output& out, Failure* failure);

}  // namespace nfb::xenbpf_load
