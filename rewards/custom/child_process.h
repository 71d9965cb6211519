// A child process spoken to in lines of text over one Unix socket pair (the child's stdin and stdout),
// with deadlines. The external-program rule runs a command this way; the plugin rule runs its plugin in
// a forked helper this way (program_rule.h, plugin_rule.h).
//
// Guarantees the callers rely on:
//   - the child leads its own process group, and stop() kills the whole group, so whatever the child
//     spawned dies with it; a terminal Ctrl-C aimed at the trainer does not reach it;
//   - the trainer never gets SIGPIPE from a dead child (writes use MSG_NOSIGNAL);
//   - exchange() writes the request and reads the reply in one poll loop, so a child that answers while
//     the trainer is still writing a large request cannot deadlock the pair;
//   - every wait has a deadline; nothing here blocks past it.
// Commands are started with posix_spawnp (no fork of the trainer's address space, safe in a threaded
// process); the child's other descriptors are closed, stderr is inherited, signals are reset to default.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace aha::rewards {

class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Read { line, timeout, closed, too_long };
  static constexpr size_t kMaxLineBytes = 64u << 20;

  // Runs argv (argv[0] searched in PATH). std::runtime_error when it cannot be started (not found, not
  // executable), with the reason.
  static std::unique_ptr<ChildProcess> spawn(const std::vector<std::string>& argv);
  // fork()s; the child runs body(fd), with fd its end of the socket, and _exits with its return value
  // (70 if it throws). No exec: the body runs in a copy of this process and must use only what is safe
  // after fork in a threaded program (see plugin_rule.cpp for what the plugin host relies on).
  static std::unique_ptr<ChildProcess> fork_with(const std::function<int(int fd)>& body);

  // Closes the child's stdin, gives it 100 ms to exit on its own, then kills the group.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Sends `request` (may be empty) and reads one reply line, without its '\n'. `line` when a whole
  // line has arrived after the whole request was sent; `closed` when the child closed its end (exited,
  // crashed); `too_long` past kMaxLineBytes without a newline.
  Read exchange(std::string_view request, Clock::time_point deadline, std::string& line);

  // Waits up to `grace` for the child to exit by itself, then SIGKILLs its group; reaps it. Returns how
  // it ended: "exited with status 3", "was killed by signal 11 (Segmentation fault)". Idempotent.
  std::string stop(std::chrono::milliseconds grace = std::chrono::milliseconds(0));

  pid_t pid() const { return pid_; }

 private:
  ChildProcess(pid_t pid, int fd);

  pid_t pid_;
  int fd_;
  std::string pending_;  // bytes read after the last complete line
  bool eof_ = false;
  bool reaped_ = false;
  std::string ended_;
};

}  // namespace aha::rewards
