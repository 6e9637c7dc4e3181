#include "nfb/bpfd/libbpf_backend.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/core.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "nfb/bpf/icmp_echo.h"
#include "nfb/bpf/libbpf_support.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/netns.h"
#include "nfb/core/subprocess.h"
#include "nfb/offload/accounting.h"
#include "nfb/offload/protocol.h"
#include "nfb/offload/verifier.h"

namespace nfb::bpfd {

namespace proto = offload::proto;

namespace {

// --- libbpf objects held for a guest
// --------------------------------------------------------------

// One opened-and-loaded bpf_object with the ELF bytes it was opened from. The program and the
// maps of one LOAD_ELF share it; the last of them to go closes it (and with it every fd).
struct ObjectHolder {
  std::vector<uint8_t> elf;
  bpf_object* object = nullptr;
  ~ObjectHolder() {
    if (object != nullptr) bpf_object__close(object);
  }
};

class ElfProgram : public KernelProgram {
 public:
  ElfProgram(std::shared_ptr<ObjectHolder> holder, bpf_program* program)
      : holder_(std::move(holder)), program_(program), name_(bpf_program__name(program)) {}
  int fd() const override { return bpf_program__fd(program_); }
  const std::string& name() const override { return name_; }

 private:
  std::shared_ptr<ObjectHolder> holder_;
  bpf_program* program_;
  std::string name_;
};

class ElfMap : public KernelMap {
 public:
  ElfMap(std::shared_ptr<ObjectHolder> holder, bpf_map* map, MapDescription description)
      : holder_(std::move(holder)), fd_(bpf_map__fd(map)), description_(std::move(description)) {}
  const MapDescription& description() const override { return description_; }
  int Lookup(std::span<const uint8_t> key, std::span<uint8_t> value) override {
    return Errno(bpf_map_lookup_elem(fd_, key.data(), value.data()));
  }
  int Update(std::span<const uint8_t> key, std::span<const uint8_t> value,
             uint64_t flags) override {
    return Errno(bpf_map_update_elem(fd_, key.data(), value.data(), flags));
  }
  int Delete(std::span<const uint8_t> key) override {
    return Errno(bpf_map_delete_elem(fd_, key.data()));
  }

 private:
  // libbpf 1.x returns -errno; be safe with older conventions (-1 and errno).
  static int Errno(int rc) {
    if (rc >= 0) return 0;
    return rc == -1 && errno > 1 ? -errno : rc;
  }
  std::shared_ptr<ObjectHolder> holder_;
  int fd_;
  MapDescription description_;
};

class BytecodeProgram : public KernelProgram {
 public:
  explicit BytecodeProgram(int fd) : fd_(fd) {}
  ~BytecodeProgram() override { ::close(fd_); }
  int fd() const override { return fd_; }
  const std::string& name() const override { return name_; }

 private:
  int fd_;
  std::string name_ = "xenbpf_bytecode";
};

// --- the verifier hook inside bpf_object__load()
// --------------------------------------------------

// libbpf relocates a program (map fds, subprograms, CO-RE) inside bpf_object__load() and hands
// the result to the kernel right away. The only point where bpfd can see and replace the final
// instructions is a program handler's prog_prepare_load_fn, which libbpf calls just before
// BPF_PROG_LOAD and after which it reloads prog->insns (libbpf 1.1, bpf_object_load_prog). The
// handlers are process-wide, so they are registered once for the tc section names and act only
// on the program that LoadElf() is loading on this thread; every other tc program (the
// dispatcher, the calibration's echo responder) passes through untouched.
struct LoadContext {
  bpf_object* object = nullptr;
  bpf_program* program = nullptr;
  const ProgramVerifier* verifier = nullptr;
  int redirect_ifindex = 0;
  std::optional<RequestError> error;
  std::vector<std::string> notes;
  std::vector<uint8_t> func_info, line_info;  // remapped copies handed to the kernel
};
thread_local LoadContext* t_load = nullptr;

// Moves BTF func/line info records (each starting with a u32 instruction offset) to where the
// verifier moved their instructions. Returns false if an offset is out of range.
bool RemapInfo(const void* records, uint32_t rec_size, uint32_t count,
               const std::vector<uint32_t>& insn_map, std::vector<uint8_t>* out) {
  if (records == nullptr || count == 0 || rec_size < sizeof(uint32_t)) return false;
  const auto* bytes = static_cast<const uint8_t*>(records);
  out->assign(bytes, bytes + static_cast<size_t>(rec_size) * count);
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t* record = out->data() + static_cast<size_t>(i) * rec_size;
    uint32_t off = 0;
    std::memcpy(&off, record, sizeof(off));
    if (off >= insn_map.size()) return false;
    std::memcpy(record, &insn_map[off], sizeof(off));
  }
  return true;
}

int PrepareLoad(bpf_program* program, bpf_prog_load_opts* opts, long /*cookie*/) {
  LoadContext* ctx = t_load;
  if (ctx == nullptr || ctx->program != program) return 0;
  try {
    const bpf_insn* raw = bpf_program__insns(program);
    const size_t count = bpf_program__insn_cnt(program);
    if (raw == nullptr || count == 0) throw RequestError(EINVAL, "the program is empty");
    if (count > proto::kMaxInstructions) {
      throw RequestError(E2BIG, fmt::format("the program has {} instructions after linking, the "
                                            "limit is {}",
                                            count, proto::kMaxInstructions));
    }
    const std::span<const bpf_insn> insns(raw, count);
    std::vector<int> own_fds;
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, ctx->object) own_fds.push_back(bpf_map__fd(map));
    CheckObjectReferences(insns, own_fds);

    RewrittenProgram rewritten = (*ctx->verifier)(insns, ctx->redirect_ifindex);
    ctx->notes = std::move(rewritten.notes);
    bool moved = rewritten.insns.size() != count;
    for (size_t i = 0; !moved && i < rewritten.insn_map.size(); ++i) {
      moved = rewritten.insn_map[i] != i;
    }
    if (moved) {
      // BTF func_info/line_info name instruction offsets; they must follow the code or the
      // kernel rejects the program. Without a map of the moves, drop them (they are debug info
      // and function linkage; static subprograms verify without them).
      const bool funcs_ok = rewritten.insn_map.size() == count &&
                            RemapInfo(opts->func_info, opts->func_info_rec_size,
                                      opts->func_info_cnt, rewritten.insn_map, &ctx->func_info);
      const bool lines_ok = rewritten.insn_map.size() == count &&
                            RemapInfo(opts->line_info, opts->line_info_rec_size,
                                      opts->line_info_cnt, rewritten.insn_map, &ctx->line_info);
      opts->func_info = funcs_ok ? ctx->func_info.data() : nullptr;
      if (!funcs_ok) opts->func_info_cnt = 0;
      opts->line_info = lines_ok ? ctx->line_info.data() : nullptr;
      if (!lines_ok) opts->line_info_cnt = 0;
    }
    const int err = bpf_program__set_insns(program, rewritten.insns.data(), rewritten.insns.size());
    if (err != 0) {
      throw RequestError(EIO, fmt::format("cannot install the verified instructions: {}",
                                          bpf::LibbpfErrorString(err)));
    }
    return 0;
  } catch (const RequestError& e) {
    ctx->error = e;
  } catch (const InputError& e) {  // the verifier's VerifierError
    ctx->error =
        RequestError(EACCES, fmt::format("bpfd's verifier rejected the program: {}", e.what()));
  } catch (const std::exception& e) {
    log::Error("verifier pass failed unexpectedly: {}", e.what());
    ctx->error = RequestError(EIO, "internal error in bpfd's verifier pass");
  }
  return ctx->error->code();
}

void RegisterProgramHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    libbpf_prog_handler_opts opts{};
    opts.sz = sizeof(opts);
    opts.prog_prepare_load_fn = PrepareLoad;
    // The section names libbpf 1.1 maps to BPF_PROG_TYPE_SCHED_CLS; expected attach type 0, as
    // libbpf's own definitions have it.
    for (const char* section : {"tc", "classifier"}) {
      const int id = libbpf_register_prog_handler(section, BPF_PROG_TYPE_SCHED_CLS,
                                                  static_cast<bpf_attach_type>(0), &opts);
      if (id < 0)
        bpf::ThrowLibbpfError(fmt::format("register a handler for SEC(\"{}\")", section), id);
    }
  });
}

// The last lines of a verifier log that fit a reply message.
std::string LogTail(const char* log, size_t limit) {
  std::string_view text(log);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.remove_suffix(1);
  if (text.size() <= limit) return std::string(text);
  text = text.substr(text.size() - limit);
  const size_t newline = text.find('\n');
  if (newline != std::string_view::npos) text.remove_prefix(newline + 1);
  return "... " + std::string(text);
}

constexpr size_t kLogSize = 256 * 1024;
constexpr size_t kLogTailInReply = 700;

std::string GuestMapName(const bpf_map* map) {
  std::string name = bpf_map__name(map);
  // libbpf names global-data maps "<object name prefix>.rodata"; the guest knows them by section.
  if (bpf_map__is_internal(map)) {
    const size_t dot = name.find('.');
    if (dot != std::string::npos) name.erase(0, dot);
  }
  return name;
}

uint16_t Checksum(std::span<const uint8_t> bytes) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.size() % 2 == 1) sum += bytes.back() << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

// --- references ----------------------------------------------------------------------------------

void CheckObjectReferences(std::span<const bpf_insn> insns, std::span<const int> own_map_fds) {
  for (size_t i = 0; i < insns.size(); ++i) {
    const bpf_insn& insn = insns[i];
    if (insn.code == (BPF_LD | BPF_DW | BPF_IMM)) {
      switch (insn.src_reg) {
        case 0:
          break;
        case BPF_PSEUDO_MAP_FD:
        case BPF_PSEUDO_MAP_VALUE:
          if (std::find(own_map_fds.begin(), own_map_fds.end(), insn.imm) == own_map_fds.end()) {
            throw RequestError(EACCES, fmt::format("insn {}: refers to a map that is not one of "
                                                   "this object's own maps",
                                                   i));
          }
          break;
        default:
          throw RequestError(EACCES, fmt::format("insn {}: 64-bit load with pseudo source {} is "
                                                 "not allowed (only this object's maps may be "
                                                 "referenced)",
                                                 i, insn.src_reg));
      }
      ++i;  // the second half of the 64-bit load carries only the upper immediate
    } else if (insn.code == (BPF_JMP | BPF_CALL) && insn.src_reg == BPF_PSEUDO_KFUNC_CALL) {
      throw RequestError(EACCES, fmt::format("insn {}: kfunc calls are not allowed", i));
    }
  }
}

// BPF_PROG_TEST_RUN reruns the program on the same buffer, so after the first run the echo
// request has become a reply. With the slot's MAC as source too, that reply is still addressed to
// the slot: every run measures the same path (dispatcher lookup, counter, tail call, the echo
// program's full parse), not the dispatcher's miss path.
std::vector<uint8_t> CalibrationFrame(const bpf::MacAddress& dst_mac) {
  std::vector<uint8_t> f;
  f.insert(f.end(), dst_mac.begin(), dst_mac.end());
  f.insert(f.end(), dst_mac.begin(), dst_mac.end());
  f.insert(f.end(), {0x08, 0x00});
  const size_t ip = f.size();
  constexpr uint16_t kIpLength = 20 + 8 + 56;
  f.insert(f.end(), {0x45,
                     0x00,
                     kIpLength >> 8,
                     kIpLength & 0xff,
                     0x12,
                     0x34,
                     0x40,
                     0x00,
                     64,
                     1,
                     0,
                     0,
                     198,
                     18,
                     0,
                     2,
                     198,
                     18,
                     0,
                     1});
  const uint16_t ip_sum = Checksum(std::span(f).subspan(ip, 20));
  f[ip + 10] = static_cast<uint8_t>(ip_sum >> 8);
  f[ip + 11] = static_cast<uint8_t>(ip_sum);
  const size_t icmp = f.size();
  f.insert(f.end(), {8, 0, 0, 0, 0x00, 0x2a, 0x00, 0x01});
  for (int i = 0; i < 56; ++i) f.push_back(static_cast<uint8_t>(0x10 + i));
  const uint16_t icmp_sum = Checksum(std::span(f).subspan(icmp));
  f[icmp + 2] = static_cast<uint8_t>(icmp_sum >> 8);
  f[icmp + 3] = static_cast<uint8_t>(icmp_sum);
  return f;
}

ProgramVerifier MakeOffloadVerifier() {
  return [](std::span<const bpf_insn> insns, int redirect_ifindex) {
    offload::VerifierConfig config;
    config.redirect_ifindex = redirect_ifindex;
    offload::VerifierResult result = offload::VerifyAndRewrite(insns, config);
    return RewrittenProgram{std::move(result.insns), std::move(result.insn_map),
                            std::move(result.notes)};
  };
}

// --- isolation -----------------------------------------------------------------------------------

IsolatedResult RunIsolated(const std::function<int()>& fn, std::chrono::milliseconds timeout) {
  const pid_t pid = ::fork();
  if (pid < 0) ThrowSystemError("fork", errno);
  if (pid == 0) {
    int code = 1;
    try {
      code = fn();
    } catch (...) {
      code = 1;
    }
    ::_exit(code);  // no atexit handlers, no destructors of the parent's objects
  }
  IsolatedResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) ThrowSystemError("waitpid", errno);
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      result.timed_out = true;
      break;
    }
    ::usleep(200);
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

void PreflightParse(std::span<const uint8_t> object) {
  const IsolatedResult r = RunIsolated(
      [object] {
        libbpf_set_print(nullptr);  // the parent's open will say the same, once
        bpf_object_open_opts opts{};
        opts.sz = sizeof(opts);
        opts.object_name = "xenbpf";
        bpf_object* obj = bpf_object__open_mem(object.data(), object.size(), &opts);
        if (obj == nullptr) return 1;
        // Walk what LoadElf() will look at, so lazily computed fields are exercised too.
        bpf_program* p = nullptr;
        bpf_object__for_each_program(p, obj) {
          (void)bpf_program__name(p);
          (void)bpf_program__section_name(p);
          (void)bpf_program__insn_cnt(p);
        }
        bpf_map* m = nullptr;
        bpf_object__for_each_map(m, obj) {
          (void)bpf_map__name(m);
          (void)bpf_map__key_size(m);
          (void)bpf_map__value_size(m);
        }
        bpf_object__close(obj);
        return 0;
      },
      std::chrono::seconds(5));
  if (r.timed_out) {
    throw RequestError(EINVAL, "parsing the object took too long; refusing it");
  }
  if (r.signal != 0) {
    log::Warn("a guest's object crashed libbpf's parser in the pre-flight child ({})",
              strsignal(r.signal));
    throw RequestError(EINVAL, "the object is malformed (it crashes libbpf's ELF parser)");
  }
}

// --- backend -------------------------------------------------------------------------------------

void RemoveStaleDispatchers(const std::string& netns, const std::string& interface) {
  // A bpfd killed with SIGKILL leaves its filter behind; its program array is empty, so it passes
  // every frame, but it still runs (and costs) for each one. libbpf can detach a filter only by
  // handle and priority, so iproute2 lists them.
  ProcessSpec list({"tc", "-j", "filter", "show", "dev", interface, "ingress"});
  list.netns = netns;
  ProcessResult listed;
  try {
    listed = RunProcess(list, std::chrono::seconds(10));
  } catch (const Error& e) {
    log::Warn("cannot look for stale dispatchers on {}: {}", interface, e.what());
    return;
  }
  if (!listed.Succeeded()) return;  // no clsact qdisc yet, or no such interface: Attach reports it
  nlohmann::json filters;
  try {
    filters = nlohmann::json::parse(listed.out.empty() ? "[]" : listed.out);
  } catch (const nlohmann::json::exception& e) {
    log::Warn("cannot parse `tc -j filter show` output: {}", e.what());
    return;
  }
  for (const auto& f : filters) {
    const auto options = f.find("options");
    if (options == f.end() || !options->contains("prog")) continue;
    if (options->at("prog").value("name", "") != "dispatcher_tc") continue;
    const std::string pref = std::to_string(f.value("pref", 0));
    const std::string handle = options->value("handle", "");
    ProcessSpec del({"tc", "filter", "del", "dev", interface, "ingress", "pref", pref, "handle",
                     handle, "bpf"});
    del.netns = netns;
    const ProcessResult r = RunProcess(del, std::chrono::seconds(10));
    if (r.Succeeded()) {
      log::Warn(
          "removed a stale dispatcher filter (pref {} handle {}) from {}, left by a bpfd "
          "that did not shut down cleanly",
          pref, handle, interface);
    } else {
      log::Warn("cannot remove a stale dispatcher filter from {}: {}", interface, r.err);
    }
  }
}

LibbpfBackend::LibbpfBackend(const LibbpfBackendOptions& options, ProgramVerifier verifier)
    : verifier_(std::move(verifier)) {
  bpf::RouteLibbpfLog();
  RegisterProgramHandlers();
  if (options.interface.empty()) throw InputError("bpfd needs the interface of dom0's NIC");
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) bpf::ThrowLibbpfError("count possible CPUs", cpus);
  possible_cpus_ = static_cast<uint32_t>(cpus);
  RemoveStaleDispatchers(options.netns, options.interface);
  {
    NetnsScope scope(options.netns);
    attachment_.emplace(bpf::TcIngressAttachment::Attach(options.interface, dispatcher_.tc_fd()));
  }
  redirect_ifindex_ = attachment_->ifindex();
  log::Info(
      "dispatcher attached at the tc ingress of {}{} (ifindex {}); redirects are pinned to "
      "its egress",
      options.interface, options.netns.empty() ? "" : " in netns " + options.netns,
      redirect_ifindex_);

  if (options.fixed_cost_ps) {
    cost_.cost_ps = *options.fixed_cost_ps;
    cost_.method = fmt::format("fixed on bpfd's command line: {:.3f} ns per packet",
                               static_cast<double>(cost_.cost_ps) / 1000.0);
  } else {
    // As in the thesis (5.4): an echo responder run `repeat` times on one echo request with
    // BPF_PROG_TEST_RUN. Through a private dispatcher, because each packet a domain is charged
    // for also went through the dispatcher. The guest's own program is not run: it would need a
    // packet it understands, and its maps would see the runs.
    bpf::IcmpEchoProgram echo;
    bpf::Dispatcher calibration_dispatcher;
    const bpf::MacAddress mac{0x02, 0x00, 0x00, 0x00, 0xca, 0x1b};
    calibration_dispatcher.SetSlot(mac, echo.tc_fd());
    const std::vector<uint8_t> frame = CalibrationFrame(mac);
    const offload::Calibration both = offload::CalibrateProgram(calibration_dispatcher.tc_fd(),
                                                                frame, options.calibration_repeat);
    const offload::Calibration alone =
        offload::CalibrateProgram(echo.tc_fd(), frame, options.calibration_repeat);
    cost_.cost_ps = static_cast<uint64_t>(std::llround(both.ns_per_packet * 1000.0));
    cost_.method = fmt::format(
        "BPF_PROG_TEST_RUN at start: dispatcher+icmp_echo_tc, {} runs of a {}-byte echo request "
        "(answered once, then parsed and passed as a reply to the same MAC), "
        "median of {} rounds: {:.1f} ns/packet (echo alone {:.1f}, empty program {:.1f})",
        both.repeats, frame.size(), offload::kCalibrationRounds, both.ns_per_packet,
        alone.ns_per_packet, both.empty_ns_per_packet);
  }
  log::Info("CPU accounting: {}", cost_.method);
}

LibbpfBackend::~LibbpfBackend() { DetachDispatcher(); }

void LibbpfBackend::DetachDispatcher() noexcept {
  if (!attachment_) return;
  try {
    attachment_->Detach();
  } catch (const std::exception& e) {
    log::Warn("detaching the dispatcher: {}", e.what());
  }
  attachment_.reset();
}

LoadedElf LibbpfBackend::LoadElf(std::span<const uint8_t> object, std::string_view program_name,
                                 const ObjectBudget& budget) {
  PreflightParse(object);
  auto holder = std::make_shared<ObjectHolder>();
  holder->elf.assign(object.begin(), object.end());
  bpf_object_open_opts open_opts{};
  open_opts.sz = sizeof(open_opts);
  // Without a name libbpf derives one from the buffer's address, which would then show up in the
  // guest-visible names of global-data maps.
  open_opts.object_name = "xenbpf";
  holder->object = bpf_object__open_mem(holder->elf.data(), holder->elf.size(), &open_opts);
  if (holder->object == nullptr) {
    const int err = errno;
    throw RequestError(
        EINVAL, fmt::format("not a loadable BPF ELF object: {}", bpf::LibbpfErrorString(-err)));
  }
  bpf_object* obj = holder->object;

  // The program: the named one, or the only tc program.
  bpf_program* chosen = nullptr;
  std::vector<bpf_program*> tc_programs;
  bpf_program* p = nullptr;
  bpf_object__for_each_program(p, obj) {
    if (bpf_program__type(p) == BPF_PROG_TYPE_SCHED_CLS) tc_programs.push_back(p);
  }
  if (!program_name.empty()) {
    chosen = bpf_object__find_program_by_name(obj, std::string(program_name).c_str());
    if (chosen == nullptr) {
      throw RequestError(ENOENT, fmt::format("the object has no program named '{}'", program_name));
    }
    if (bpf_program__type(chosen) != BPF_PROG_TYPE_SCHED_CLS) {
      throw RequestError(EINVAL, fmt::format("program '{}' is in section '{}', not a tc program "
                                             "(SEC(\"tc\") or SEC(\"classifier\"))",
                                             program_name, bpf_program__section_name(chosen)));
    }
  } else if (tc_programs.size() == 1) {
    chosen = tc_programs.front();
  } else {
    throw RequestError(EINVAL, fmt::format("the object has {} tc programs (SEC(\"tc\")); name the "
                                           "one to load",
                                           tc_programs.size()));
  }
  bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, p == chosen);

  // The maps: allowed types, wire limits, quota; never pinned (a pin path could reach another
  // domain's map or outlive bpfd).
  std::vector<std::pair<bpf_map*, MapDescription>> maps;
  uint64_t memory = 0;
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, obj) {
    MapDescription d;
    d.name = GuestMapName(m);
    d.type = bpf_map__type(m);
    d.key_size = bpf_map__key_size(m);
    d.value_size = bpf_map__value_size(m);
    d.max_entries = bpf_map__max_entries(m);
    if (maps.size() == proto::kMaxMapsPerObject) {
      throw RequestError(E2BIG,
                         fmt::format("the object has more than {} maps", proto::kMaxMapsPerObject));
    }
    if (d.name.size() > proto::kMaxNameSize) {
      throw RequestError(E2BIG,
                         fmt::format("a map name is longer than {} bytes", proto::kMaxNameSize));
    }
    if (d.name == ".kconfig") {
      // Its values come from dom0's kernel configuration, which a guest has no business reading.
      throw RequestError(EINVAL, "Kconfig externs (__kconfig) are not supported");
    }
    if (!IsAllowedMapType(d.type)) {
      const char* type_name = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(d.type));
      throw RequestError(EINVAL,
                         fmt::format("map '{}' has type {} ({}), which guests may not "
                                     "create",
                                     d.name, d.type, type_name != nullptr ? type_name : "unknown"));
    }
    if (d.max_entries == 0) {
      throw RequestError(EINVAL, fmt::format("map '{}' has max_entries 0", d.name));
    }
    const uint64_t wire = WireValueSize(d.type, d.value_size, possible_cpus_);
    if (d.key_size > proto::kMaxKeySize || wire > proto::kMaxValueSize) {
      throw RequestError(
          E2BIG, fmt::format("map '{}': {}-byte keys and {}-byte values exceed the "
                             "protocol's {} and {}",
                             d.name, d.key_size, wire, proto::kMaxKeySize, proto::kMaxValueSize));
    }
    d.wire_value_size = static_cast<uint32_t>(wire);
    d.memory = EstimateMapMemory(d.type, d.key_size, d.value_size, d.max_entries, possible_cpus_);
    memory = memory + d.memory < memory ? UINT64_MAX : memory + d.memory;
    const int err = bpf_map__set_pin_path(m, nullptr);
    if (err != 0) throw RequestError(EIO, "cannot unpin a map");
    maps.emplace_back(m, std::move(d));
  }
  if (maps.size() > budget.maps) {
    throw RequestError(EDQUOT, fmt::format("quota: the object has {} maps, {} more are allowed",
                                           maps.size(), budget.maps));
  }
  if (memory > budget.map_memory) {
    throw RequestError(EDQUOT, fmt::format("quota: the object's maps need about {} bytes, {} are "
                                           "left",
                                           memory, budget.map_memory));
  }

  std::vector<char> log(kLogSize, '\0');
  bpf_program__set_log_buf(chosen, log.data(), log.size());
  LoadContext ctx;
  ctx.object = obj;
  ctx.program = chosen;
  ctx.verifier = &verifier_;
  ctx.redirect_ifindex = redirect_ifindex_;
  t_load = &ctx;
  const int err = bpf_object__load(obj);
  t_load = nullptr;
  if (ctx.error) throw *ctx.error;
  if (err != 0) {
    const std::string tail = LogTail(log.data(), kLogTailInReply);
    throw RequestError(
        err, fmt::format("the kernel refused the program: {}{}", bpf::LibbpfErrorString(err),
                         tail.empty() ? "" : "\n" + tail));
  }

  LoadedElf loaded;
  loaded.program = std::make_unique<ElfProgram>(holder, chosen);
  for (auto& [map, description] : maps) {
    loaded.maps.push_back(std::make_unique<ElfMap>(holder, map, std::move(description)));
  }
  loaded.notes = std::move(ctx.notes);
  return loaded;
}

std::unique_ptr<KernelProgram> LibbpfBackend::LoadBytecode(std::span<const uint8_t> bytes,
                                                           uint32_t prog_type,
                                                           std::string_view license) {
  if (bytes.empty() || bytes.size() % sizeof(bpf_insn) != 0 ||
      bytes.size() / sizeof(bpf_insn) > proto::kMaxInstructions) {
    throw RequestError(EINVAL, "bytecode must be 1..4096 whole instructions");
  }
  std::vector<bpf_insn> insns(bytes.size() / sizeof(bpf_insn));
  std::memcpy(insns.data(), bytes.data(), bytes.size());
  CheckObjectReferences(insns, {});
  RewrittenProgram rewritten;
  try {
    rewritten = verifier_(insns, redirect_ifindex_);
  } catch (const InputError& e) {
    throw RequestError(EACCES, fmt::format("bpfd's verifier rejected the program: {}", e.what()));
  }
  for (const std::string& note : rewritten.notes) log::Debug("verifier: {}", note);
  const std::string license_z(license);
  bpf_prog_load_opts opts{};
  opts.sz = sizeof(opts);
  int fd = bpf_prog_load(static_cast<bpf_prog_type>(prog_type), "xenbpf_bytecode",
                         license_z.c_str(), rewritten.insns.data(), rewritten.insns.size(), &opts);
  if (fd < 0) {
    // Load again with a log, only now: logging slows the verifier down.
    std::vector<char> log(kLogSize, '\0');
    opts.log_buf = log.data();
    opts.log_size = static_cast<uint32_t>(log.size());
    opts.log_level = 1;
    const int retry =
        bpf_prog_load(static_cast<bpf_prog_type>(prog_type), "xenbpf_bytecode", license_z.c_str(),
                      rewritten.insns.data(), rewritten.insns.size(), &opts);
    if (retry >= 0) {
      fd = retry;  // a transient failure
    } else {
      const std::string tail = LogTail(log.data(), kLogTailInReply);
      throw RequestError(
          fd, fmt::format("the kernel refused the program: {}{}", bpf::LibbpfErrorString(fd),
                          tail.empty() ? "" : "\n" + tail));
    }
  }
  return std::make_unique<BytecodeProgram>(fd);
}

void LibbpfBackend::Attach(const bpf::MacAddress& mac, const KernelProgram& program) {
  try {
    dispatcher_.SetSlot(mac, program.fd());
  } catch (const bpf::SlotUnavailableError& e) {
    // All slots taken, or the MAC's two buckets held by MACs that cannot move. The message names
    // slots and buckets: keep it in dom0's log.
    log::Warn("dispatcher: cannot attach a program for {}: {}", bpf::FormatMac(mac), e.what());
    throw RequestError(ENOSPC, "no free dispatcher slot in dom0");
  } catch (const std::exception& e) {
    // The dispatcher's message names fds and slots: keep it in dom0's log.
    log::Warn("dispatcher: cannot attach a program for {}: {}", bpf::FormatMac(mac), e.what());
    throw RequestError(EINVAL,
                       "the dispatcher refused the program (it must be a tc program "
                       "compatible with the dispatcher's program array)");
  }
}

void LibbpfBackend::Detach(const bpf::MacAddress& mac) noexcept {
  try {
    dispatcher_.ClearSlot(mac);
  } catch (const std::exception& e) {
    log::Error("dispatcher: cannot clear the slot of {}: {}", bpf::FormatMac(mac), e.what());
  }
}

bpf::SlotCounters LibbpfBackend::Counters(const bpf::MacAddress& mac) {
  if (!dispatcher_.SlotOf(mac)) return {};
  try {
    return dispatcher_.Counters(mac);
  } catch (const std::exception& e) {
    log::Warn("dispatcher: cannot read the counters of {}: {}", bpf::FormatMac(mac), e.what());
    throw RequestError(EIO, "cannot read the dispatcher's counters");
  }
}

std::optional<uint32_t> LibbpfBackend::SlotOf(const bpf::MacAddress& mac) const {
  return dispatcher_.SlotOf(mac);
}

}  // namespace nfb::bpfd
