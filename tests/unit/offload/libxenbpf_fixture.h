// A real bpfd event loop (nfb::bpfd::Daemon) with the in-memory FakeBackend, running in a thread
// of the test process and listening on abstract Unix sockets of the test's own network namespace
// under unique names, so libxenbpf and xenbpf-load can be tested without privileges.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "nfb/bpfd/control.h"
#include "nfb/bpfd/daemon.h"
#include "nfb/bpfd/service.h"
#include "nfb/bpfd/testing/fake_backend.h"

namespace nfb::xenbpf_testing {

class InProcessBpfd {
 public:
  // Registers domu1 (02:00:00:00:01:01) and domu2 (02:00:00:00:02:01) and starts the loop.
  explicit InProcessBpfd(bpfd::Quotas quotas = {});
  InProcessBpfd(const InProcessBpfd&) = delete;
  InProcessBpfd& operator=(const InProcessBpfd&) = delete;
  // Stops the loop (closing every session) and removes the control socket.
  ~InProcessBpfd();

  // The channel name a domain's guest passes to xenbpf_connect (unique per instance).
  std::string Channel(const std::string& domain) const;
  const std::filesystem::path& control_path() const { return control_path_; }

  // Runs `work` in the loop's thread and waits for it: the backend and the service are not
  // thread-safe, and the loop may touch them at any time.
  void InLoop(const std::function<void()>& work);

  // The backend's live program/map counts, read in the loop's thread.
  int LivePrograms();
  int LiveMaps();
  // Counters for the domain's slot, as the dispatcher would count its traffic.
  void AddTraffic(const std::string& domain, uint64_t packets, uint64_t bytes);
  // What the control socket says about a domain.
  bpfd::DomainStatus Status(const std::string& domain);
  // Polls Status() until the domain has no session (bpfd handles the close asynchronously).
  bool WaitDisconnected(const std::string& domain,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  void RunQueued();

  std::string prefix_;
  std::filesystem::path dir_, control_path_;
  bpfd::testing::FakeBackend backend_;
  std::unique_ptr<bpfd::OffloadService> service_;
  std::unique_ptr<bpfd::Daemon> daemon_;
  int wakeup_fd_ = -1;
  std::mutex mu_;
  std::condition_variable done_cv_;
  std::deque<std::function<void()>> queue_;
  uint64_t queued_ = 0, finished_ = 0;
  std::thread thread_;
};

}  // namespace nfb::xenbpf_testing
