// nfb-pin-exec: run a program on one CPU, and keep it there even if it tries to move itself.
//
//   nfb-pin-exec [--cpu N] [--chdir DIR] -- PROGRAM [ARGS...]
//
// Why: trafgen 0.6.8 (Debian 12) pins its i-th worker to CPU i with sched_setaffinity(2)
// (`cpu_affinity(i)` in trafgen.c; a start CPU only came in later releases). So it cannot be put
// on CPU N from outside (taskset, a cpuset), and inside a cpuset that lacks CPU 0 it dies with
// "Can't set this cpu affinity!". This helper sets the affinity first, then installs a seccomp
// filter that turns every later sched_setaffinity call into a successful no-op, and execs the
// program: its processes keep the affinity they inherit. --chdir exists because the same trafgen
// creates a temporary file in its working directory.
//
// Exit status 125 for a usage error, 126 when the setup fails (the message says which step),
// 127 when the program cannot be executed; otherwise the program's own.
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

#if defined(__x86_64__)
constexpr unsigned kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kAuditArch = AUDIT_ARCH_AARCH64;
#else
#error "nfb-pin-exec: add this architecture's AUDIT_ARCH_* value"
#endif

int Usage(const char* message) {
  std::fprintf(stderr,
               "nfb-pin-exec: %s\nusage: nfb-pin-exec [--cpu N] [--chdir DIR] -- PROGRAM "
               "[ARGS...]\n",
               message);
  return 125;
}

int SetupFailed(const char* step, const std::string& detail) {
  std::fprintf(stderr, "nfb-pin-exec: %s: %s\n", step, detail.c_str());
  return 126;
}

// sched_setaffinity -> return 0 without doing anything; everything else allowed. Calls from
// another architecture's ABI are left alone (the program is native).
bool FreezeAffinity() {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sched_setaffinity, 0, 1),
      // SECCOMP_RET_ERRNO with errno 0: the call returns 0, i.e. "succeeded".
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])),
                               filter};
  // no_new_privs is required for an unprivileged filter and harmless for root.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  long cpu = -1;
  const char* directory = nullptr;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--cpu" && i + 1 < argc) {
      char* end = nullptr;
      errno = 0;
      cpu = std::strtol(argv[++i], &end, 10);
      if (errno != 0 || end == argv[i] || *end != '\0' || cpu < 0 || cpu >= CPU_SETSIZE) {
        return Usage("--cpu needs a CPU number");
      }
    } else if (arg == "--chdir" && i + 1 < argc) {
      directory = argv[++i];
    } else {
      return Usage(("unknown argument '" + arg + "'").c_str());
    }
  }
  if (i >= argc) return Usage("no program given after --");

  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<int>(cpu), &set);
    if (::sched_setaffinity(0, sizeof(set), &set) != 0) {
      return SetupFailed("sched_setaffinity", "CPU " + std::to_string(cpu) +
                                                  " is not allowed here (offline, or not in "
                                                  "this cgroup's cpuset): " +
                                                  std::strerror(errno));
    }
  }
  if (directory != nullptr && ::chdir(directory) != 0) {
    return SetupFailed("chdir", std::string(directory) + ": " + std::strerror(errno));
  }
  if (!FreezeAffinity()) return SetupFailed("seccomp", std::strerror(errno));
  ::execvp(argv[i], argv + i);
  std::fprintf(stderr, "nfb-pin-exec: cannot run '%s': %s\n", argv[i], std::strerror(errno));
  return 127;
}
