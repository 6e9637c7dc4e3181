#include "line_session.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "nfb/core/error.h"
#include "nfb/core/log.h"
#include "nfb/core/text_file.h"

namespace nfb::nf {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::string ReadAll(const fs::path& path) { return ReadTextFile(path).value_or(""); }

}  // namespace

LineSession::LineSession(ProcessSpec spec, fs::path fifo, fs::path out, fs::path err,
                         std::string what)
    : out_(std::move(out)),
      err_(std::move(err)),
      what_(std::move(what)),
      commands_(std::move(fifo)) {
  spec = WithStdinFrom(std::move(spec), commands_.path());
  spec.stdout_path = out_;
  spec.stderr_path = err_;
  process_ = Process::Start(spec);  // on failure commands_ closes and removes the FIFO
}

LineSession::~LineSession() { Close(); }

std::string LineSession::ErrTail() const {
  const std::string s = ReadAll(err_);
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

json LineSession::NextLine(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string text = ReadAll(out_);
    // Complete lines only: a last line without its newline is still being written.
    size_t start = 0;
    size_t index = 0;
    for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
      if (index++ < lines_read_) continue;
      ++lines_read_;
      const std::string line = text.substr(start, end - start);
      json answer = json::parse(line, nullptr, false);
      if (answer.is_discarded()) {
        throw RunError(fmt::format("{} printed '{}', not JSON", what_, line));
      }
      return answer;
    }
    if (!result_) result_ = process_.Wait(0ms);
    if (result_) {
      throw RunError(fmt::format("{} ended ({}): {}", what_, result_->Status(), ErrTail()));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw RunError(fmt::format("{} gave no answer within {} ms: {}", what_, timeout.count(),
                                 ErrTail()));
    }
    std::this_thread::sleep_for(20ms);
  }
}

json LineSession::Ask(const std::string& line, std::chrono::milliseconds timeout) {
  if (!commands_.open()) throw RunError(what_ + ": its input is closed");
  commands_.Write(line + "\n");
  json answer = NextLine(timeout);
  if (answer.contains("error")) {
    throw RunError(fmt::format("{}: '{}' failed: {}", what_, line, answer["error"].dump()));
  }
  return answer;
}

std::optional<ProcessResult> LineSession::Close(std::chrono::milliseconds grace) {
  try {
    commands_.Close();
    if (!result_ && process_.running()) {
      result_ = process_.Wait(grace);
      if (!result_) {
        log::Warn("{} did not end within {} ms of its input closing; terminating it", what_,
                  grace.count());
        result_ = process_.Terminate(std::chrono::seconds(5));
      }
    }
  } catch (const std::exception& e) {
    log::Error("stopping {}: {}", what_, e.what());
  }
  return result_;
}

}  // namespace nfb::nf
