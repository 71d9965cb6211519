// The sandbox's process plumbing (see sandbox.h): work directories, pipes, fork, the poll loop that feeds
// inputs, caps captured output, watches the wall clock and the processes, then kills and reaps.
// The layers themselves are in sandbox_layers.cpp.
#include "rewards/code/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "rewards/code/sandbox_layers.h"

namespace aha::rewards {

using namespace sandbox_detail;

std::string describe_layers(uint32_t layers) {
  static constexpr const char* kNames[] = {"session",     "rlimits",      "clean-env",      "uid-drop",
                                           "userns",      "netns",        "mountns",        "ro-root",
                                           "landlock-fs", "landlock-net", "landlock-scope", "seccomp"};
  std::string out;
  for (size_t bit = 0; bit < std::size(kNames); ++bit)
    if (layers & (1u << bit)) out += (out.empty() ? "" : " ") + std::string(kNames[bit]);
  return out.empty() ? "none" : out;
}

void SandboxConfig::validate() const {
  auto positive = [](const char* field, double value) {
    if (!(value > 0) || !std::isfinite(value))
      throw std::invalid_argument(std::string("sandbox: ") + field + " must be a positive number, got " +
                                  std::to_string(value));
  };
  positive("cpu_seconds", cpu_seconds);
  positive("wall_seconds", wall_seconds);
  positive("address_space_bytes", static_cast<double>(address_space_bytes));
  positive("file_size_bytes", static_cast<double>(file_size_bytes));
  positive("processes", static_cast<double>(processes));
  positive("open_files", static_cast<double>(open_files));
  positive("output_bytes", static_cast<double>(output_bytes));
  if (open_files < 16)
    throw std::invalid_argument("sandbox: open_files must be at least 16 (Python needs a few), got " +
                                std::to_string(open_files));
  if (!python.empty() && (python[0] != '/' || ::access(python.c_str(), X_OK) != 0))
    throw std::invalid_argument("sandbox: python must be an absolute path to an executable, got '" + python +
                                "'");
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kReportCap = 64 << 10;
constexpr size_t kChunk = 64 << 10;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read, write;
};

bool make_pipe(Pipe& pipe) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  pipe.read.reset(fds[0]);
  pipe.write.reset(fds[1]);
  return true;
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// A parent-side end of a pipe: data to feed a child, or a child's output to collect.
struct Stream {
  enum class Kind { feed, capture, report };
  Kind kind;
  Fd fd;
  std::string_view data;  // feed
  size_t offset = 0;
  std::string* sink = nullptr;  // capture, report
};

struct Child {
  pid_t pid = -1;
  Fd pidfd;
  bool exited = false;  // a zombie, not yet reaped: its pid and process group id stay reserved
  bool reaped = false;
};

// Blocks SIGPIPE in this thread while a run writes to pipes whose reader may be dead (write then fails
// with EPIPE), and swallows the SIGPIPE that leaves pending: a dead child must not kill the trainer.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe_only;
    ::sigemptyset(&pipe_only);
    ::sigaddset(&pipe_only, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old_);
    sigset_t pending;
    ::sigpending(&pending);
    was_pending_ = ::sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pipe_only;
      ::sigemptyset(&pipe_only);
      ::sigaddset(&pipe_only, SIGPIPE);
      const timespec zero{0, 0};
      while (::sigtimedwait(&pipe_only, nullptr, &zero) == SIGPIPE) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

std::string resolve_python(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (::access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "";
  while (!dirs.empty()) {
    const size_t colon = dirs.find(':');
    const std::string candidate = std::string(dirs.substr(0, colon)) + "/python3";
    if (candidate[0] == '/' && ::access(candidate.c_str(), X_OK) == 0) {
      std::error_code ec;
      const auto real = std::filesystem::canonical(candidate, ec);
      return ec ? candidate : real.string();
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return "";
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

Sandbox::Sandbox(SandboxConfig config) : config_(std::move(config)) {
  config_.validate();
  python_ = resolve_python(config_.python);
  if (python_.empty())
    throw std::invalid_argument(
        "sandbox: no python3 found (tried /usr/bin/python3 and PATH); set the sandbox's \"python\" to an "
        "absolute path");
  if (config_.work_root.empty()) config_.work_root = std::filesystem::temp_directory_path().string();
  read_only_paths_ = config_.read_only_paths;
  std::error_code ec;
  const auto real_python = std::filesystem::canonical(python_, ec);
  if (!ec) read_only_paths_.push_back(real_python.parent_path().parent_path().string());  // its prefix
  if (config_.landlock != Want::off) landlock_abi_ = landlock_abi();
  if (config_.landlock == Want::required && landlock_abi_ == 0)
    throw std::invalid_argument("sandbox: landlock is required but this kernel offers none");
  const RunResult probe = run({ProcessSpec{{python_, "-I", "-S", "-c", "pass"}, "", {}}});
  probed_layers_ = probe.layers;
  if (!probe.error.empty())
    probe_error_ = probe.error;
  else if ((probe.layers & (kLayerUidDrop | kLayerLandlockFs | kLayerMountNs)) == 0)
    // Same uid, /proc visible: a child could read and write this process's memory (/proc/<pid>/mem).
    probe_error_ =
        "no layer separates the sandbox from this process (not root, so no uid drop; no Landlock; "
        "no mount namespace): a child of the same uid could reach it through /proc. Run as root, "
        "or on a kernel with Landlock, or where user namespaces are allowed";
  else if (probe.processes[0].exit_code != 0)
    probe_error_ = python_ + " -c pass " +
                   (probe.timed_out ? "timed out"
                                    : "exited with " + std::to_string(probe.processes[0].exit_code) +
                                          ", signal " + std::to_string(probe.processes[0].signal)) +
                   " in the sandbox: " + probe.processes[0].err.substr(0, 500);
}

namespace {

// One run: everything it opened, so that every way out kills, reaps, closes and removes.
class Run {
 public:
  Run(const SandboxConfig& config, int landlock_abi, const std::vector<std::string>& read_only_paths,
      const std::vector<ProcessSpec>& specs, RunResult& result)
      : config_(config),
        landlock_abi_(landlock_abi),
        read_only_paths_(read_only_paths),
        specs_(specs),
        result_(result),
        children_(specs.size()) {}

  ~Run() {
    kill_all();
    reap_all();
    for (const std::string& dir : workdirs_) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }

  bool prepare();  // work directories, pipes, plans; false with result.error set
  bool start();    // fork each process and read its layer report
  void pump();     // feed, collect, watch until processes[0] exits, time or output runs out
  void finish();   // kill, reap, drain what the pipes still hold

 private:
  int ms_left() const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
  }
  bool fail(std::string what) {
    result_.error = std::move(what);
    return false;
  }
  void kill_all();
  void reap_all();
  bool read_stream(Stream& s);  // false once it is closed

  const SandboxConfig& config_;
  int landlock_abi_;
  const std::vector<std::string>& read_only_paths_;
  const std::vector<ProcessSpec>& specs_;
  RunResult& result_;
  Clock::time_point deadline_;

  std::vector<std::string> workdirs_;
  std::vector<Pipe> internal_;
  std::vector<Stream> streams_;
  std::vector<std::vector<Fd>> child_ends_;
  std::vector<Fd> status_reads_, landlock_rulesets_;
  std::vector<ChildPlan> plans_;
  std::vector<std::vector<char*>> argvs_;
  std::string workdir_options_, uid_map_, gid_map_;
  std::vector<Child> children_;
  size_t captured_ = 0;
};

bool Run::prepare() {
  deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(config_.wall_seconds));
  const size_t count = specs_.size();
  const bool as_root = ::geteuid() == 0;
  const bool drop = as_root && config_.drop_privileges != Want::off;
  // One work directory per process: without a mount namespace they would otherwise share one.
  for (size_t i = 0; i < count; ++i) {
    std::string dir = config_.work_root + "/aha-sandbox-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr)
      return fail("mkdtemp in " + config_.work_root + ": " + std::strerror(errno));
    workdirs_.push_back(dir);
    if (drop && ::chown(dir.c_str(), config_.uid, config_.gid) != 0)
      return fail("chown " + dir + ": " + std::strerror(errno));
  }
  int pipe_count = 0;
  for (const ProcessSpec& spec : specs_)
    for (const ChildFd& f : spec.fds)
      if (f.kind == ChildFd::Kind::pipe_read || f.kind == ChildFd::Kind::pipe_write)
        pipe_count = std::max(pipe_count, f.pipe + 1);
  internal_.resize(pipe_count);
  for (Pipe& p : internal_)
    if (!make_pipe(p)) return fail(std::string("pipe: ") + std::strerror(errno));

  workdir_options_ = "size=" + std::to_string(config_.file_size_bytes) +
                     ",mode=0700,uid=" + std::to_string(drop ? config_.uid : ::geteuid()) +
                     ",gid=" + std::to_string(drop ? config_.gid : ::getegid());
  uid_map_ = std::to_string(::geteuid()) + " " + std::to_string(::geteuid()) + " 1\n";
  gid_map_ = std::to_string(::getegid()) + " " + std::to_string(::getegid()) + " 1\n";
  static char* empty_env[] = {nullptr};
  child_ends_.resize(count);
  status_reads_.resize(count);
  landlock_rulesets_.resize(count);
  plans_.resize(count);
  argvs_.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const ProcessSpec& spec = specs_[i];
    ChildPlan& plan = plans_[i];
    auto give = [&](int target, Fd child_end) {
      plan.fd_source[plan.fd_count] = child_end.get();
      plan.fd_target[plan.fd_count] = target;
      ++plan.fd_count;
      child_ends_[i].push_back(std::move(child_end));
    };
    auto feed = [&](int target, std::string_view data) {
      Pipe p;
      if (!make_pipe(p)) return false;
      give(target, std::move(p.read));
      streams_.push_back(Stream{Stream::Kind::feed, std::move(p.write), data});
      return true;
    };
    auto collect = [&](int target, Stream::Kind kind, std::string* sink) {
      Pipe p;
      if (!make_pipe(p)) return false;
      give(target, std::move(p.write));
      streams_.push_back(Stream{kind, std::move(p.read), {}, 0, sink});
      return true;
    };
    bool ok = feed(0, spec.stdin_data) && collect(1, Stream::Kind::capture, &result_.processes[i].out) &&
              collect(2, Stream::Kind::capture, &result_.processes[i].err);
    for (const ChildFd& f : spec.fds) {
      if (!ok) break;
      switch (f.kind) {
        case ChildFd::Kind::input:
          ok = feed(f.fd, f.data);
          break;
        case ChildFd::Kind::report:
          ok = collect(f.fd, Stream::Kind::report, &result_.report);
          break;
        case ChildFd::Kind::pipe_read:
          give(f.fd, Fd(::fcntl(internal_[f.pipe].read.get(), F_DUPFD_CLOEXEC, 0)));
          break;
        case ChildFd::Kind::pipe_write:
          give(f.fd, Fd(::fcntl(internal_[f.pipe].write.get(), F_DUPFD_CLOEXEC, 0)));
          break;
      }
    }
    Pipe status;
    if (!ok || !make_pipe(status)) return fail(std::string("pipe: ") + std::strerror(errno));
    plan.status_fd = status.write.get();
    status_reads_[i] = std::move(status.read);
    child_ends_[i].push_back(std::move(status.write));

    for (const std::string& arg : spec.argv) argvs_[i].push_back(const_cast<char*>(arg.c_str()));
    argvs_[i].push_back(nullptr);
    plan.path = spec.argv[0].c_str();
    plan.argv = argvs_[i].data();
    plan.envp = empty_env;
    const auto cpu = static_cast<rlim_t>(std::ceil(config_.cpu_seconds));
    const std::pair<int, rlimit> limits[] = {
        // The soft CPU limit sends SIGXCPU (Python dies of it); the hard one a second later, SIGKILL.
        {RLIMIT_CPU, {cpu, cpu + 1}},
        {RLIMIT_AS,
         {static_cast<rlim_t>(config_.address_space_bytes),
          static_cast<rlim_t>(config_.address_space_bytes)}},
        {RLIMIT_FSIZE,
         {static_cast<rlim_t>(config_.file_size_bytes), static_cast<rlim_t>(config_.file_size_bytes)}},
        {RLIMIT_NPROC, {static_cast<rlim_t>(config_.processes), static_cast<rlim_t>(config_.processes)}},
        {RLIMIT_NOFILE, {static_cast<rlim_t>(config_.open_files), static_cast<rlim_t>(config_.open_files)}},
        {RLIMIT_CORE, {0, 0}},
    };
    for (const auto& [resource, value] : limits) {
      plan.rlimit_resource[plan.rlimit_count] = resource;
      plan.rlimit_value[plan.rlimit_count] = value;
      ++plan.rlimit_count;
    }
    plan.as_root = as_root;
    plan.want_namespaces = config_.namespaces;
    plan.want_mount_namespace = config_.mount_namespace == Want::when_available && landlock_abi_ > 0
                                    ? Want::off
                                    : config_.mount_namespace;
    plan.want_drop_privileges = config_.drop_privileges;
    plan.want_landlock = config_.landlock;
    plan.want_seccomp = config_.seccomp;
    plan.uid = config_.uid;
    plan.gid = config_.gid;
    plan.workdir = workdirs_[i].c_str();
    plan.workdir_tmpfs_options = workdir_options_.c_str();
    plan.uid_map = uid_map_.c_str();
    plan.gid_map = gid_map_.c_str();
    plan.seccomp_filter = config_.seccomp == Want::off ? nullptr : seccomp_program();
    if (landlock_abi_ > 0) {
      landlock_rulesets_[i].reset(make_landlock_ruleset(
          landlock_abi_, read_only_paths_, &plan.landlock_layers, &plan.landlock_workdir_access));
      plan.landlock_fd = landlock_rulesets_[i].get();
      if (plan.landlock_fd < 0 && config_.landlock == Want::required)
        return fail(std::string("landlock_create_ruleset: ") + std::strerror(errno));
    }
  }
  return true;
}

bool Run::start() {
  uint32_t layers = ~0u;
  for (size_t i = 0; i < specs_.size(); ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) enter_layers_and_exec(plans_[i]);
    if (pid < 0) return fail(std::string("fork: ") + std::strerror(errno));
    children_[i].pid = pid;
    result_.process_groups.push_back(pid);
    children_[i].pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    child_ends_[i].clear();  // the parent's copies of the child's ends: EOF must reach the reader
    landlock_rulesets_[i].reset();
    // The child writes one record just before exec and one more if a step fails; exec closes the pipe.
    char buffer[sizeof(ChildStatus) * 2];
    size_t got = 0;
    while (got < sizeof buffer) {
      pollfd p{status_reads_[i].get(), POLLIN, 0};
      if (::poll(&p, 1, ms_left()) <= 0) break;
      const ssize_t n = ::read(status_reads_[i].get(), buffer + got, sizeof buffer - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got < sizeof(ChildStatus)) return fail("the sandboxed child ended before reporting its layers");
    ChildStatus last;
    std::memcpy(&last, buffer + (got / sizeof last - 1) * sizeof last, sizeof last);
    if (last.failed_step != kStepNone)
      return fail(std::string("sandbox setup failed at ") + child_step_name(last.failed_step) + ": " +
                  std::strerror(last.error) + " (entered: " + describe_layers(last.layers) + ")");
    layers &= last.layers;
  }
  internal_.clear();  // every child that needs an internal pipe end has its own copy now
  result_.layers = layers;
  for (Stream& s : streams_) set_nonblocking(s.fd.get());
  return true;
}

bool Run::read_stream(Stream& s) {
  char buffer[kChunk];
  const ssize_t n = ::read(s.fd.get(), buffer, sizeof buffer);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) {
    s.fd.reset();
    return false;
  }
  const auto size = static_cast<size_t>(n);
  if (s.kind == Stream::Kind::report) {
    s.sink->append(buffer, std::min(size, kReportCap - std::min(kReportCap, s.sink->size())));
    return true;
  }
  const auto cap = static_cast<size_t>(config_.output_bytes);
  s.sink->append(buffer, std::min(size, cap - std::min(cap, captured_)));
  captured_ += size;
  if (captured_ > cap) result_.output_limited = true;
  return true;
}

void Run::pump() {
  std::vector<pollfd> polls;
  std::vector<int> owners;  // >= 0: a stream's index; < 0: ~(a child's index)
  const bool have_pidfds =
      std::all_of(children_.begin(), children_.end(), [](const Child& c) { return c.pidfd.get() >= 0; });
  while (!children_[0].exited && !result_.output_limited) {
    const int left = ms_left();
    if (left <= 0) {
      result_.timed_out = true;
      return;
    }
    polls.clear();
    owners.clear();
    for (size_t i = 0; i < streams_.size(); ++i) {
      if (streams_[i].fd.get() < 0) continue;
      const short events = streams_[i].kind == Stream::Kind::feed ? POLLOUT : POLLIN;
      polls.push_back({streams_[i].fd.get(), events, 0});
      owners.push_back(static_cast<int>(i));
    }
    for (size_t i = 0; i < children_.size(); ++i) {
      if (children_[i].exited || children_[i].pidfd.get() < 0) continue;
      polls.push_back({children_[i].pidfd.get(), POLLIN, 0});
      owners.push_back(~static_cast<int>(i));
    }
    const int ready = ::poll(polls.data(), polls.size(), have_pidfds ? left : std::min(left, 5));
    if (ready < 0 && errno != EINTR) {
      fail(std::string("poll: ") + std::strerror(errno));
      return;
    }
    for (size_t k = 0; k < polls.size() && ready > 0; ++k) {
      if (polls[k].revents == 0) continue;
      if (owners[k] < 0) {
        children_[~owners[k]].exited = true;  // a zombie until reap_all
        continue;
      }
      Stream& s = streams_[owners[k]];
      if (s.kind != Stream::Kind::feed) {
        read_stream(s);
        continue;
      }
      const size_t size = std::min(kChunk, s.data.size() - s.offset);
      const ssize_t n = size == 0 ? 0 : ::write(s.fd.get(), s.data.data() + s.offset, size);
      if (n > 0) s.offset += static_cast<size_t>(n);
      if (s.offset == s.data.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) s.fd.reset();
    }
    if (!have_pidfds)
      for (Child& c : children_) {
        siginfo_t info{};
        if (!c.exited && ::waitid(P_PID, c.pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == c.pid)
          c.exited = true;
      }
  }
}

void Run::finish() {
  kill_all();
  reap_all();
  // What the processes wrote before they ended is still in the pipes. A writer that escaped the process
  // group (possible only without seccomp) must not keep us here: stop at the first empty poll.
  for (Stream& s : streams_)
    while (s.kind != Stream::Kind::feed && s.fd.get() >= 0 && !result_.output_limited) {
      pollfd p{s.fd.get(), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0 || !read_stream(s)) break;
    }
}

void Run::kill_all() {
  for (const Child& c : children_)
    if (c.pid > 0 && !c.reaped) {
      ::kill(-c.pid, SIGKILL);  // its session's group; the pgid stays reserved while the leader is unreaped
      ::kill(c.pid, SIGKILL);
    }
}

void Run::reap_all() {
  for (size_t i = 0; i < children_.size(); ++i) {
    Child& c = children_[i];
    if (c.pid <= 0 || c.reaped) continue;
    int status = 0;
    while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
    }
    c.reaped = true;
    if (WIFEXITED(status)) result_.processes[i].exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result_.processes[i].signal = WTERMSIG(status);
  }
}

}  // namespace

RunResult Sandbox::run(const std::vector<ProcessSpec>& specs) const {
  if (specs.empty()) throw std::invalid_argument("sandbox: run() needs at least one process");
  for (const ProcessSpec& spec : specs) {
    if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/')
      throw std::invalid_argument("sandbox: argv[0] must be an absolute path");
    if (spec.fds.size() + 3 > static_cast<size_t>(kMaxPlanFds))
      throw std::invalid_argument("sandbox: too many fds for one process");
    for (const ChildFd& f : spec.fds)
      if (f.fd < 3 || f.fd >= kStatusFd)
        throw std::invalid_argument("sandbox: child fd " + std::to_string(f.fd) + " is outside [3, " +
                                    std::to_string(kStatusFd) + ")");
  }
  const Clock::time_point start = Clock::now();
  RunResult result;
  result.processes.resize(specs.size());
  {
    SigpipeGuard sigpipe_guard;
    Run run(config_, landlock_abi_, read_only_paths_, specs, result);
    if (run.prepare() && run.start()) run.pump();
    run.finish();
  }
  if (!result.error.empty()) result.layers = 0;
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace aha::rewards
