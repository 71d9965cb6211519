// The run directory's lock and mark; see run_lock.h.
#include "runlog/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace aha::runlog {
namespace fs = std::filesystem;

fs::path run_lock_file(const fs::path& run_dir) {
  return run_dir / ".aha-run.lock";
}

RunLock::RunLock(const fs::path& run_dir) {
  const fs::path file = run_lock_file(run_dir);
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error(file.string() + ": cannot open the run lock: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int lock_errno = errno;
    char pid[32] = {0};
    const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (lock_errno != EWOULDBLOCK)
      throw std::runtime_error(file.string() + ": cannot lock: " + std::strerror(lock_errno));
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "unknown";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    throw std::runtime_error(run_dir.string() + ": in use by another aha process (pid " + holder +
                             "); one writer per run directory. Wait for it to finish or stop it first");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    throw std::runtime_error(file.string() + ": cannot write the holder's pid: " + std::strerror(errno));
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

bool is_run_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec)) || !fs::is_regular_file(dir / "config.json", ec))
    return false;
  std::ifstream in(dir / "config.json");
  const auto config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object() || !config.contains("model") || !config.contains("grpo")) return false;
  const auto train = config.find("train");
  if (train == config.end() || !train->is_object() || !train->contains("run_name")) return false;
  if ((*train)["run_name"] != dir.filename().string()) return false;
  return fs::exists(run_lock_file(dir), ec) || fs::exists(dir / "metrics.jsonl", ec) ||
         fs::is_directory(dir / "checkpoints", ec);
}

}  // namespace aha::runlog
