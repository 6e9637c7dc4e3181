#include "libxenbpf_fixture.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>

#include "nfb/bpf/mac_address.h"
#include "nfb/bpfd/transport.h"
#include "nfb/core/error.h"
#include "nfb/core/log.h"

namespace nfb::xenbpf_testing {
namespace {

std::atomic<int> g_instances{0};

const char* MacOf(const std::string& domain) {
  return domain == "domu1" ? "02:00:00:00:01:01" : "02:00:00:00:02:01";
}

}  // namespace

InProcessBpfd::InProcessBpfd(bpfd::Quotas quotas) {
  log::SetLevel(log::Level::kWarn);
  prefix_ = "nfbtest-libxenbpf-" + std::to_string(::getpid()) + "-" +
            std::to_string(g_instances.fetch_add(1));
  dir_ = std::filesystem::temp_directory_path() / prefix_;
  std::filesystem::create_directories(dir_);
  control_path_ = dir_ / "bpfd.ctl";

  service_ = std::make_unique<bpfd::OffloadService>(backend_, quotas);
  bpfd::DaemonOptions options;
  options.control_path = control_path_.string();
  options.frame_timeout = std::chrono::milliseconds(500);
  const std::string prefix = prefix_;
  daemon_ = std::make_unique<bpfd::Daemon>(
      *service_,
      [prefix](const bpfd::DomainSpec& spec) {
        return bpfd::ListenAbstract("", prefix + "-" + spec.name);
      },
      options);
  for (const std::string domain : {"domu1", "domu2"}) {
    daemon_->RegisterDomain({domain, "unused-netns", MacOf(domain), -1});
  }
  wakeup_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakeup_fd_ < 0) ThrowSystemError("eventfd", errno);
  daemon_->AddWatch(wakeup_fd_, [this] { RunQueued(); });
  thread_ = std::thread([this] { daemon_->Run(/*stop_on_interrupt=*/false); });
}

InProcessBpfd::~InProcessBpfd() {
  daemon_->Stop();
  thread_.join();
  daemon_.reset();
  service_.reset();
  ::close(wakeup_fd_);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string InProcessBpfd::Channel(const std::string& domain) const {
  return prefix_ + "-" + domain;
}

void InProcessBpfd::RunQueued() {
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(wakeup_fd_, &count, sizeof(count));
  for (;;) {
    std::function<void()> work;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) break;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
    {
      std::lock_guard lock(mu_);
      ++finished_;
    }
    done_cv_.notify_all();
  }
}

void InProcessBpfd::InLoop(const std::function<void()>& work) {
  uint64_t ticket = 0;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(work);
    ticket = ++queued_;
  }
  const uint64_t one = 1;
  if (::write(wakeup_fd_, &one, sizeof(one)) != sizeof(one)) ThrowSystemError("eventfd", errno);
  std::unique_lock lock(mu_);
  if (!done_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return finished_ >= ticket; })) {
    throw std::runtime_error("bpfd's loop did not run the work within 10 s");
  }
}

int InProcessBpfd::LivePrograms() {
  int n = 0;
  InLoop([&] { n = backend_.live_programs(); });
  return n;
}

int InProcessBpfd::LiveMaps() {
  int n = 0;
  InLoop([&] { n = backend_.live_maps(); });
  return n;
}

void InProcessBpfd::AddTraffic(const std::string& domain, uint64_t packets, uint64_t bytes) {
  InLoop([&] { backend_.AddTraffic(bpf::ParseMac(MacOf(domain)), packets, bytes); });
}

bpfd::DomainStatus InProcessBpfd::Status(const std::string& domain) {
  return bpfd::ControlClient(control_path_).Stats(domain);
}

bool InProcessBpfd::WaitDisconnected(const std::string& domain, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!Status(domain).connected) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace nfb::xenbpf_testing
