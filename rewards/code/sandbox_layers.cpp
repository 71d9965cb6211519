// The sandbox's isolation layers (see sandbox_layers.h). The seccomp program is hand-written BPF rather
// than libseccomp: it is a short denylist, it keeps the rewards library free of a link dependency, and a
// finished sock_fprog is what the child needs anyway (libseccomp allocates while loading, which is not
// safe between fork and exec). Landlock constants are spelled out here because the distribution's
// <linux/landlock.h> may predate the ABI the kernel offers.
#include "rewards/code/sandbox_layers.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace aha::rewards::sandbox_detail {

namespace {

// ---- seccomp ----

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
#error "the sandbox's seccomp filter is written for x86_64 and aarch64"
#endif

// Denied outright with EPERM. Each group says what it stops.
constexpr int kDeniedSyscalls[] = {
    // network: no socket can be made, so nothing can connect, listen or reach a unix socket on disk
    __NR_socket,
    __NR_socketpair,
    __NR_connect,
    __NR_bind,
    __NR_listen,
    __NR_accept,
    __NR_accept4,
    // other processes: no signals (the parent, the judge, killpg), no leaving the process group, no
    // reading or steering a same-uid process (memory, limits, scheduling)
    __NR_kill,
    __NR_tkill,
    __NR_tgkill,
    __NR_rt_sigqueueinfo,
    __NR_rt_tgsigqueueinfo,
    __NR_pidfd_open,
    __NR_pidfd_getfd,
    __NR_pidfd_send_signal,
    __NR_setsid,
    __NR_setpgid,
    __NR_ptrace,
    __NR_process_vm_readv,
    __NR_process_vm_writev,
    __NR_kcmp,
    __NR_setpriority,
    __NR_sched_setaffinity,
    __NR_sched_setscheduler,
    __NR_sched_setparam,
    __NR_sched_setattr,
    __NR_ioprio_set,
    __NR_migrate_pages,
    __NR_move_pages,
    __NR_process_madvise,
    // SysV and POSIX IPC objects outlive the process that made them (unless in an IPC namespace)
    __NR_shmget,
    __NR_shmat,
    __NR_shmdt,
    __NR_shmctl,
    __NR_msgget,
    __NR_msgsnd,
    __NR_msgrcv,
    __NR_msgctl,
    __NR_semget,
    __NR_semop,
    __NR_semctl,
    __NR_semtimedop,
    __NR_mq_open,
    __NR_mq_unlink,
    __NR_mq_timedsend,
    __NR_mq_timedreceive,
    __NR_mq_notify,
    __NR_mq_getsetattr,
    // the sandbox's own walls: namespaces and mounts
    __NR_unshare,
    __NR_setns,
    __NR_mount,
    __NR_umount2,
    __NR_pivot_root,
    __NR_chroot,
    __NR_open_tree,
    __NR_move_mount,
    __NR_fsopen,
    __NR_fsconfig,
    __NR_fsmount,
    __NR_fspick,
    __NR_mount_setattr,
    // kernel attack surface a Python program has no use for (io_uring would also bypass this filter)
    __NR_bpf,
    __NR_perf_event_open,
    __NR_userfaultfd,
    __NR_io_uring_setup,
    __NR_io_uring_enter,
    __NR_io_uring_register,
    __NR_keyctl,
    __NR_add_key,
    __NR_request_key,
    __NR_kexec_load,
    __NR_kexec_file_load,
    __NR_reboot,
    __NR_init_module,
    __NR_finit_module,
    __NR_delete_module,
    __NR_swapon,
    __NR_swapoff,
    __NR_acct,
    __NR_syslog,
    __NR_quotactl,
    __NR_settimeofday,
    __NR_clock_settime,
    __NR_clock_adjtime,
    __NR_adjtimex,
    __NR_sethostname,
    __NR_setdomainname,
    __NR_name_to_handle_at,
    __NR_open_by_handle_at,
    __NR_vhangup,
#if defined(__x86_64__)
    __NR_fork,
    __NR_vfork,
    __NR_iopl,
    __NR_ioperm,
    __NR_modify_ldt,
    __NR_uselib,
#endif
};

constexpr uint32_t kRetAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kRetEperm = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
constexpr uint32_t kRetEnosys = SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA);
constexpr uint32_t kArg0Low = offsetof(seccomp_data, args);  // little-endian: the low 32 bits

std::vector<sock_filter> build_seccomp_filter() {
  std::vector<sock_filter> f;
  auto stmt = [&](uint16_t code, uint32_t k) { f.push_back(BPF_STMT(code, k)); };
  auto jump = [&](uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
    f.push_back(BPF_JUMP(code, k, jt, jf));
  };
  // A syscall of another ABI (i386 via int 0x80) would be numbered differently: kill the process.
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  jump(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
#if defined(__x86_64__)
  jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);  // x32 ABI numbers alias ours with this bit set
  stmt(BPF_RET | BPF_K, kRetEperm);
#endif
  for (int nr : kDeniedSyscalls) {
    jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1);
    stmt(BPF_RET | BPF_K, kRetEperm);
  }
  // clone3 passes its flags in memory a filter cannot read: ENOSYS makes glibc fall back to clone.
  jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1);
  stmt(BPF_RET | BPF_K, kRetEnosys);
  // clone: threads (CLONE_THREAD) yes, new processes no. The blocks below load an argument, so each ends
  // in returns; a non-matching syscall skips its block with the number still loaded.
  jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4);
  stmt(BPF_LD | BPF_W | BPF_ABS, kArg0Low);
  jump(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1);
  stmt(BPF_RET | BPF_K, kRetAllow);
  stmt(BPF_RET | BPF_K, kRetEperm);
  // prlimit64: only on itself (pid 0), which is what setrlimit/getrlimit use.
  jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_prlimit64, 0, 4);
  stmt(BPF_LD | BPF_W | BPF_ABS, kArg0Low);
  jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1);
  stmt(BPF_RET | BPF_K, kRetAllow);
  stmt(BPF_RET | BPF_K, kRetEperm);
  stmt(BPF_RET | BPF_K, kRetAllow);
  return f;
}

// ---- Landlock (include/uapi/linux/landlock.h, ABI 1..6) ----

constexpr long kSysLandlockCreateRuleset = 444, kSysLandlockAddRule = 445, kSysLandlockRestrictSelf = 446;
constexpr uint32_t kLandlockCreateRulesetVersion = 1u << 0;
constexpr int kLandlockRulePathBeneath = 1;
constexpr uint64_t kFsExecute = 1u << 0, kFsWriteFile = 1u << 1, kFsReadFile = 1u << 2, kFsReadDir = 1u << 3;
constexpr uint64_t kFsAbi1 = (1u << 13) - 1;  // EXECUTE .. MAKE_SYM
constexpr uint64_t kFsRefer = 1u << 13, kFsTruncate = 1u << 14, kFsIoctlDev = 1u << 15;
constexpr uint64_t kFsFileRights = kFsExecute | kFsWriteFile | kFsReadFile | kFsTruncate | kFsIoctlDev;
constexpr uint64_t kNetBindTcp = 1u << 0, kNetConnectTcp = 1u << 1;
constexpr uint64_t kScopeAbstractUnixSocket = 1u << 0, kScopeSignal = 1u << 1;

struct LandlockRulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI 4
  uint64_t scoped;              // ABI 6
};
struct __attribute__((packed)) LandlockPathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};

void add_path_rule(int ruleset, const char* path, uint64_t rights, uint64_t handled) {
  const int fd = ::open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return;  // a path this host lacks
  struct stat st {};
  if (::fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) rights &= kFsFileRights;
  LandlockPathBeneathAttr rule{rights & handled, fd};
  ::syscall(kSysLandlockAddRule, ruleset, kLandlockRulePathBeneath, &rule, 0);
  ::close(fd);
}

// ---- the child ----

struct MountAttr {  // struct mount_attr; <linux/mount.h> clashes with glibc's <sys/mount.h>
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};
constexpr long kSysMountSetattr = 442;
constexpr uint64_t kMountAttrRdonly = 0x1, kMountAttrNosuid = 0x2, kMountAttrNodev = 0x4;
constexpr unsigned kAtRecursive = 0x8000;
constexpr long kSysCloseRange = 436;

// Where the status pipe is: the parent's number until arrange_fds moves it to kStatusFd. (A copy per
// child process: fork gives the child its own.)
int g_status_fd = -1;

[[noreturn]] void fail(const ChildPlan&, uint32_t layers, ChildStep step, int error) {
  const ChildStatus status{layers, step, error};
  [[maybe_unused]] ssize_t n = ::write(g_status_fd, &status, sizeof status);
  ::_exit(127);
}

bool write_file(const char* path, const char* text) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const size_t size = std::strlen(text);
  const bool ok = ::write(fd, text, size) == static_cast<ssize_t>(size);
  ::close(fd);
  return ok;
}

// Moves the plan's fds to their child numbers and closes every other fd.
bool arrange_fds(const ChildPlan& plan) {
  // First above every target, so no dup2 below overwrites a source still needed.
  int moved[kMaxPlanFds];
  for (int i = 0; i < plan.fd_count; ++i) {
    moved[i] = ::fcntl(plan.fd_source[i], F_DUPFD_CLOEXEC, kLandlockFd + 1);
    if (moved[i] < 0) return false;
  }
  const int status = ::fcntl(plan.status_fd, F_DUPFD_CLOEXEC, kLandlockFd + 1);
  const int landlock =
      plan.landlock_fd >= 0 ? ::fcntl(plan.landlock_fd, F_DUPFD_CLOEXEC, kLandlockFd + 1) : -1;
  if (status < 0 || (plan.landlock_fd >= 0 && landlock < 0)) return false;
  for (int i = 0; i < plan.fd_count; ++i)
    if (::dup2(moved[i], plan.fd_target[i]) < 0) return false;
  if (::dup3(status, kStatusFd, O_CLOEXEC) < 0) return false;
  if (landlock >= 0 && ::dup3(landlock, kLandlockFd, O_CLOEXEC) < 0) return false;
  for (int fd = 0; fd < kStatusFd; ++fd) {
    bool keep = false;
    for (int i = 0; i < plan.fd_count; ++i) keep = keep || plan.fd_target[i] == fd;
    if (!keep) ::close(fd);
  }
  if (landlock < 0) ::close(kLandlockFd);
  if (::syscall(kSysCloseRange, kLandlockFd + 1, ~0u, 0) != 0)
    for (int fd = kLandlockFd + 1; fd < 65536; ++fd) ::close(fd);
  return true;
}

// Namespaces and mounts; returns the layers entered, or fails the child where the plan requires it.
uint32_t enter_namespaces(const ChildPlan& plan, uint32_t layers) {
  if (plan.want_namespaces != Want::off) {
    int flags = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
    if (!plan.as_root) flags |= CLONE_NEWUSER;  // an unprivileged process needs one to own the others
    if (::unshare(flags) == 0) {
      layers |= kLayerNetNs | (plan.as_root ? 0u : kLayerUserNs);
      // Map our own uid/gid only: inside, we are who we were, with no way to become anyone else.
      if (!plan.as_root &&
          (!write_file("/proc/self/setgroups", "deny") || !write_file("/proc/self/uid_map", plan.uid_map) ||
           !write_file("/proc/self/gid_map", plan.gid_map)))
        fail(plan, layers, kStepIdMaps, errno);
    } else if (plan.want_namespaces == Want::required) {
      fail(plan, layers, kStepUnshare, errno);
    }
  }
  if (plan.want_mount_namespace == Want::off) return layers;
  const bool required = plan.want_mount_namespace == Want::required;
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    if (required) fail(plan, layers, kStepMounts, errno);
    return layers;
  }
  const MountAttr read_only{kMountAttrRdonly | kMountAttrNosuid | kMountAttrNodev, 0, 0, 0};
  if (::syscall(kSysMountSetattr, AT_FDCWD, "/", kAtRecursive, &read_only, sizeof read_only) == 0)
    layers |= kLayerReadOnlyRoot;
  else if (required)
    fail(plan, layers, kStepMounts, errno);
  constexpr unsigned long kTmpfsFlags = MS_NOSUID | MS_NODEV;
  if (::mount("tmpfs", plan.workdir, "tmpfs", kTmpfsFlags, plan.workdir_tmpfs_options) != 0) {
    if (required) fail(plan, layers, kStepMounts, errno);
    return layers;
  }
  // Nothing of other processes under /proc (a host without /proc goes without). /tmp and /dev/shm stay
  // read-only: a private tmpfs there would hide the work directory when it lives under /tmp, and
  // Python's tempfile falls back to the working directory.
  ::mount("tmpfs", "/proc", "tmpfs", kTmpfsFlags | MS_NOEXEC | MS_RDONLY, "size=4k,mode=0555");
  return layers | kLayerMountNs;
}

}  // namespace

const sock_fprog* seccomp_program() {
  static const std::vector<sock_filter> filter = build_seccomp_filter();
  static const sock_fprog program{static_cast<unsigned short>(filter.size()),
                                  const_cast<sock_filter*>(filter.data())};
  return &program;
}

int landlock_abi() {
  const long abi = ::syscall(kSysLandlockCreateRuleset, nullptr, 0, kLandlockCreateRulesetVersion);
  return abi > 0 ? static_cast<int>(abi) : 0;
}

int make_landlock_ruleset(int abi, const std::vector<std::string>& read_only, uint32_t* layers,
                          uint64_t* workdir_access) {
  uint64_t fs = kFsAbi1;
  if (abi >= 2) fs |= kFsRefer;
  if (abi >= 3) fs |= kFsTruncate;
  if (abi >= 5) fs |= kFsIoctlDev;
  const LandlockRulesetAttr attr{fs, abi >= 4 ? kNetBindTcp | kNetConnectTcp : 0,
                                 abi >= 6 ? kScopeAbstractUnixSocket | kScopeSignal : 0};
  const int ruleset = static_cast<int>(::syscall(kSysLandlockCreateRuleset, &attr, sizeof attr, 0));
  if (ruleset < 0) return -1;
  for (const std::string& path : read_only)
    add_path_rule(ruleset, path.c_str(), kFsReadFile | kFsReadDir | kFsExecute, fs);
  add_path_rule(ruleset, "/dev/null", kFsReadFile | kFsWriteFile | kFsTruncate | kFsIoctlDev, fs);
  add_path_rule(ruleset, "/dev/zero", kFsReadFile, fs);
  add_path_rule(ruleset, "/dev/urandom", kFsReadFile, fs);
  *workdir_access = fs;
  *layers = kLayerLandlockFs | (abi >= 4 ? kLayerLandlockNet : 0) | (abi >= 6 ? kLayerLandlockScope : 0);
  return ruleset;
}

const char* child_step_name(int32_t step) {
  switch (step) {
    case kStepFds:
      return "arranging file descriptors";
    case kStepRlimits:
      return "setrlimit";
    case kStepUnshare:
      return "unshare (namespaces)";
    case kStepIdMaps:
      return "writing uid_map/gid_map";
    case kStepMounts:
      return "mounting (read-only root, tmpfs)";
    case kStepChdir:
      return "chdir to the work directory";
    case kStepDropPrivileges:
      return "dropping privileges (setgroups/setgid/setuid)";
    case kStepNoNewPrivs:
      return "prctl(PR_SET_NO_NEW_PRIVS)";
    case kStepLandlock:
      return "landlock_restrict_self";
    case kStepSeccomp:
      return "loading the seccomp filter";
    case kStepExec:
      return "execve";
    default:
      return "no step";
  }
}

void enter_layers_and_exec(const ChildPlan& plan) {
  // Signal dispositions and the mask are inherited through fork and (ignored ones) through exec.
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &default_action, nullptr);

  g_status_fd = plan.status_fd;
  uint32_t layers = 0;
  if (::setsid() >= 0) layers |= kLayerSession;
  if (!arrange_fds(plan)) fail(plan, layers, kStepFds, errno);
  g_status_fd = kStatusFd;
  for (int i = 0; i < plan.rlimit_count; ++i)
    if (::setrlimit(plan.rlimit_resource[i], &plan.rlimit_value[i]) != 0)
      fail(plan, layers, kStepRlimits, errno);
  layers |= kLayerRlimits;
  layers = enter_namespaces(plan, layers);
  if (::chdir(plan.workdir) != 0) fail(plan, layers, kStepChdir, errno);
  layers |= kLayerCleanEnv;  // with execve's empty envp below
  if (plan.as_root && plan.want_drop_privileges != Want::off) {
    if (::setgroups(0, nullptr) == 0 && ::setresgid(plan.gid, plan.gid, plan.gid) == 0 &&
        ::setresuid(plan.uid, plan.uid, plan.uid) == 0)
      layers |= kLayerUidDrop;
    else if (plan.want_drop_privileges == Want::required)
      fail(plan, layers, kStepDropPrivileges, errno);
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(plan, layers, kStepNoNewPrivs, errno);
  if (plan.landlock_fd >= 0) {
    // The work directory's rule is added here, on the directory as the child sees it: a rule on the
    // host directory would not reach the tmpfs mounted over it.
    const int workdir = ::open(".", O_PATH | O_CLOEXEC);
    const LandlockPathBeneathAttr rule{plan.landlock_workdir_access, workdir};
    if (workdir >= 0 &&
        ::syscall(kSysLandlockAddRule, kLandlockFd, kLandlockRulePathBeneath, &rule, 0) == 0 &&
        ::syscall(kSysLandlockRestrictSelf, kLandlockFd, 0) == 0)
      layers |= plan.landlock_layers;
    else if (plan.want_landlock == Want::required)
      fail(plan, layers, kStepLandlock, errno);
    ::close(kLandlockFd);
    ::close(workdir);
  }
  if (plan.seccomp_filter != nullptr) {
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, plan.seccomp_filter) == 0)
      layers |= kLayerSeccomp;
    else if (plan.want_seccomp == Want::required)
      fail(plan, layers, kStepSeccomp, errno);
  }
  const ChildStatus entered{layers, kStepNone, 0};
  [[maybe_unused]] ssize_t n = ::write(kStatusFd, &entered, sizeof entered);
  ::execve(plan.path, plan.argv, plan.envp);
  fail(plan, layers, kStepExec, errno);
}

}  // namespace aha::rewards::sandbox_detail
