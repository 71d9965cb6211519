// A sandbox for running untrusted programs (Python written by the policy) in child processes, for the
// code reward (issue 4, item 3). Each process of a run is forked, isolated in layers, then exec'd:
//
//   session   setsid: its own session and process group, so the wall-clock kill reaches the whole group
//   rlimits   CPU seconds, address space, file size, processes, open files, no core files
//   clean     empty environment, a fresh empty working directory, every inherited fd closed
//   uid       when the parent is root: setgroups/setgid/setuid to `uid`/`gid` (nobody), so the child can
//             neither signal nor write anything of root's, and RLIMIT_NPROC applies to it
//   userns    when the parent is not root: a user namespace (it owns the namespaces below)
//   netns     network, IPC and UTS namespaces: no interfaces, not even loopback
//   landlock  filesystem: read-only beneath `read_only_paths` and the Python prefix, read-write in the
//             working directory, nothing else (/proc, /tmp, the data, the checkout: unreachable); TCP
//             bind/connect denied (ABI >= 4); signals and abstract unix sockets scoped to the process
//             itself (ABI >= 6)
//   mountns   the filesystem fallback where the kernel has no Landlock (or when `mount_namespace` is
//             required): a private mount namespace with every mount read-only (mount_setattr
//             AT_RECURSIVE), a private size-capped tmpfs as the working directory, an empty one over
//             /proc. Not used beside Landlock by default: tearing a mount namespace down waits for an
//             RCU grace period in the exiting process, 5-8 ms per process measured here
//   seccomp   no_new_privs + a BPF denylist: socket/connect/bind..., fork/vfork/clone-without-thread,
//             kill/tgkill/pidfd_send_signal, setsid/setpgid, ptrace/process_vm_*, mount/unshare/setns,
//             SysV/POSIX IPC, io_uring, bpf, keyctl, prlimit64 on another process ... (EPERM; clone3
//             gives ENOSYS so threads fall back to clone(CLONE_THREAD), which is allowed)
//
// Namespaces come from unshare(2) in the forked child, not from bubblewrap: one exec per process instead
// of two, each layer is applied and reported on its own, and a layer the host forbids (a container that
// refuses user namespaces or mounts, a kernel without Landlock) is skipped, not fatal, unless the config
// says `required`. The floor, where no namespace and no Landlock is permitted, is session + rlimits +
// clean env + uid drop + seccomp: no network, no fork, no signals, no ptrace, bounded time, memory, files
// and output; what it gives up is filesystem confinement (a root-run sandbox then reads what nobody may
// read and writes as nobody, so only world-writable places such as /tmp are reachable) — RunResult::layers
// says which layers held. Below the floor — not root, no Landlock, no user namespace — a child would share
// this process's uid with /proc in view, so the probe reports an error instead of running there.
//
// Everything the child does between fork and exec is a raw system call on data prepared by the parent
// (no allocation), so forking from a multi-threaded trainer is safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace aha::rewards {

enum class Want { off, when_available, required };  // JSON: "off" | "auto" | "required"

struct SandboxConfig {
  double cpu_seconds = 5;    // RLIMIT_CPU per process; the hard limit one second later is a SIGKILL
  double wall_seconds = 10;  // the whole run; then every process group of the run is killed
  int64_t address_space_bytes = int64_t{1} << 30;  // RLIMIT_AS per process
  int64_t file_size_bytes = int64_t{16} << 20;     // RLIMIT_FSIZE; also the size of a private tmpfs
  // RLIMIT_NPROC: counts every process and thread of the sandbox's uid (within its user namespace when
  // it has one; as root, of `uid`; otherwise of this user, this process's threads included).
  int64_t processes = 64;
  int64_t open_files = 64;                  // RLIMIT_NOFILE
  int64_t output_bytes = int64_t{1} << 20;  // stdout + stderr of a run, all processes; more kills the run
  std::string python;  // "" = /usr/bin/python3 if present, else python3 on PATH (real path)
  Want namespaces = Want::when_available;       // user (when not root), net, IPC, UTS
  Want mount_namespace = Want::when_available;  // auto: only where Landlock is unavailable
  Want landlock = Want::when_available;
  Want seccomp = Want::required;
  Want drop_privileges = Want::when_available;  // only means something when the parent runs as root
  uint32_t uid = 65534, gid = 65534;            // who the child becomes when root drops privileges
  std::string work_root;                        // "" = std::filesystem::temp_directory_path()
  // Landlock read-only roots (missing ones are skipped); the Python prefix is added to them.
  std::vector<std::string> read_only_paths = {"/usr",          "/lib", "/lib64", "/bin", "/etc/ld.so.cache",
                                              "/etc/localtime"};

  // std::invalid_argument naming the field for a non-positive limit or a python that is not executable.
  void validate() const;
};

// Bits of RunResult::layers / Sandbox::layers().
inline constexpr uint32_t kLayerSession = 1u << 0;
inline constexpr uint32_t kLayerRlimits = 1u << 1;
inline constexpr uint32_t kLayerCleanEnv = 1u << 2;
inline constexpr uint32_t kLayerUidDrop = 1u << 3;
inline constexpr uint32_t kLayerUserNs = 1u << 4;
inline constexpr uint32_t kLayerNetNs = 1u << 5;
inline constexpr uint32_t kLayerMountNs = 1u << 6;
inline constexpr uint32_t kLayerReadOnlyRoot = 1u << 7;
inline constexpr uint32_t kLayerLandlockFs = 1u << 8;
inline constexpr uint32_t kLayerLandlockNet = 1u << 9;
inline constexpr uint32_t kLayerLandlockScope = 1u << 10;
inline constexpr uint32_t kLayerSeccomp = 1u << 11;
// "session rlimits clean uid netns ..." in bit order.
std::string describe_layers(uint32_t layers);

// One process of a run. Its fds: 0 = stdin (the parent writes `stdin_data`, then closes it), 1 and 2 are
// captured, and `fds` name the rest (each >= 3, distinct).
struct ChildFd {
  enum class Kind {
    input,       // the parent writes `data`, then closes
    report,      // the parent reads it into RunResult::report (capped at 64 KiB)
    pipe_read,   // the read end of the run's internal pipe number `pipe`
    pipe_write,  // the write end of it
  };
  int fd = 3;
  Kind kind = Kind::input;
  std::string data;
  int pipe = 0;
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0]: an absolute path
  std::string stdin_data;
  std::vector<ChildFd> fds;
};

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out, err;
};

struct RunResult {
  std::vector<ProcessResult> processes;  // in ProcessSpec order
  std::string report;
  bool timed_out = false;           // the wall clock ran out; everything was killed
  bool output_limited = false;      // stdout + stderr passed output_bytes; everything was killed
  std::string error;                // the sandbox itself failed (fork, pipe, a required layer); "" otherwise
  uint32_t layers = 0;              // the layers every process of the run entered
  double seconds = 0;               // wall time of the run, fork to last reap
  std::vector<int> process_groups;  // of the processes, all gone when run() returns
};

class Sandbox {
 public:
  // Resolves python, probes Landlock, builds the seccomp program, and runs `python -c pass` once so
  // layers() and probe_error() say what this host allows. Throws std::invalid_argument from validate().
  explicit Sandbox(SandboxConfig config);

  // Runs the processes together (each in its own session) until processes[0] exits, then kills the rest;
  // or until the wall clock or the output cap runs out. Never throws for anything the children do.
  RunResult run(const std::vector<ProcessSpec>& processes) const;

  const SandboxConfig& config() const { return config_; }
  const std::string& python() const { return python_; }
  uint32_t layers() const { return probed_layers_; }               // what the probe run entered
  const std::string& probe_error() const { return probe_error_; }  // "" when the probe ran

 private:
  SandboxConfig config_;
  std::string python_;
  int landlock_abi_ = 0;  // 0: unavailable or not wanted
  std::vector<std::string> read_only_paths_;
  uint32_t probed_layers_ = 0;
  std::string probe_error_;
};

}  // namespace aha::rewards
