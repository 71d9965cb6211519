// Line-oriented child processes with deadlines (see child_process.h).
#include "rewards/custom/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio_ext.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace aha::rewards {
namespace {

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = strsignal(sig);
    return "was killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

void make_socket_pair(int fds[2]) {
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::runtime_error(std::string("socketpair failed: ") + std::strerror(errno));
}

}  // namespace

ChildProcess::ChildProcess(pid_t pid, int fd) : pid_(pid), fd_(fd) {
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

std::unique_ptr<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv) {
  if (argv.empty()) throw std::runtime_error("empty command");
  int fds[2];
  make_socket_pair(fds);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw std::runtime_error("cannot run '" + argv[0] + "': " + std::strerror(rc));
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, fds[0]));
}

std::unique_ptr<ChildProcess> ChildProcess::fork_with(const std::function<int(int fd)>& body) {
  int fds[2];
  make_socket_pair(fds);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(error));
  }
  if (pid == 0) {
    // The child. Own process group; default signal handling (the trainer's handlers, e.g. a Ctrl-C
    // checkpoint hook, must not run here, and a crash must end the child with its signal); only its
    // end of the socket (moved to fd 3) and stdio stay open.
    ::setpgid(0, 0);
    for (int sig = 1; sig < NSIG; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int fd = fds[1];
    if (fd != 3) {
      ::dup2(fd, 3);  // dup2 clears close-on-exec on the copy; irrelevant, the child never execs
      fd = 3;
    }
    ::close_range(4, UINT_MAX, 0);
    // Output the trainer had buffered but not yet written would be written twice if the body flushed.
    __fpurge(stdout);
    int code = 70;
    try {
      code = body(fd);
    } catch (...) {
    }
    ::_exit(code);  // never run the trainer's atexit handlers or flush its stdio buffers from here
  }
  ::setpgid(pid, pid);  // also from the parent, so a kill of the group right away cannot miss it
  ::close(fds[1]);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, fds[0]));
}

ChildProcess::~ChildProcess() {
  if (!reaped_) ::shutdown(fd_, SHUT_WR);  // EOF on the child's stdin: a polite request to finish
  stop(std::chrono::milliseconds(100));
}

ChildProcess::Read ChildProcess::exchange(std::string_view request, Clock::time_point deadline,
                                          std::string& line) {
  if (reaped_) return Read::closed;
  size_t written = 0;
  size_t scanned = 0;  // pending_ bytes already known to hold no newline
  while (true) {
    if (written == request.size()) {
      const size_t newline = pending_.find('\n', scanned);
      if (newline != std::string::npos) {
        line.assign(pending_, 0, newline);
        pending_.erase(0, newline + 1);
        return Read::line;
      }
      scanned = pending_.size();
    }
    if (eof_) return Read::closed;
    if (pending_.size() > kMaxLineBytes) return Read::too_long;
    const auto now = Clock::now();
    if (now >= deadline) return Read::timeout;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    pollfd p{fd_, static_cast<short>(POLLIN | (written < request.size() ? POLLOUT : 0)), 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, INT_MAX)));
    if (ready < 0 && errno != EINTR) return Read::closed;
    if (ready <= 0) continue;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buffer[1 << 16];
      const ssize_t got = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (got > 0) {
        pending_.append(buffer, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        eof_ = true;  // a line already complete is still delivered above
        continue;
      }
    }
    if (written < request.size() && (p.revents & POLLOUT)) {
      const ssize_t sent =
          ::send(fd_, request.data() + written, request.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent > 0)
        written += static_cast<size_t>(sent);
      else if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        eof_ = true;  // EPIPE or ECONNRESET: the child is gone
    }
  }
}

std::string ChildProcess::stop(std::chrono::milliseconds grace) {
  if (reaped_) return ended_;
  // Wait without reaping (WNOWAIT): while the leader is an unreaped zombie its pid and group id cannot
  // be reused, so the group kill below cannot hit a stranger.
  const auto give_up = Clock::now() + grace;
  while (true) {
    siginfo_t info{};
    if (::waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == pid_) break;
    if (Clock::now() >= give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Kill the group even when the leader has exited: its own children may still be running.
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);  // in case it left its group
  int status = 0;
  pid_t reaped = 0;
  do reaped = ::waitpid(pid_, &status, 0);
  while (reaped < 0 && errno == EINTR);
  // ECHILD: someone else reaped it (SIGCHLD ignored by the host program).
  ended_ = reaped == pid_ ? describe_status(status) : "ended (exit status unavailable)";
  reaped_ = true;
  ::close(fd_);
  fd_ = -1;
  return ended_;
}

}  // namespace aha::rewards
