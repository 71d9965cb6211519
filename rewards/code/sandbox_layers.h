// The sandbox's isolation layers (see sandbox.h for what each one does), split from the process
// plumbing in sandbox.cpp: what the parent prepares (a seccomp program, a Landlock ruleset) and what the
// forked child runs before exec. enter_layers_and_exec() makes raw system calls on the plan only: no
// allocation, no locks, nothing that is unsafe between fork and exec in a multi-threaded parent.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rewards/code/sandbox.h"

namespace aha::rewards::sandbox_detail {

// The seccomp denylist as a BPF program, built once (see sandbox.h for the list and why).
const sock_fprog* seccomp_program();

// The Landlock ABI version the kernel offers, 0 where it has none (or the syscall is filtered).
int landlock_abi();

// A Landlock ruleset for one process: read-only beneath `read_only` (missing paths skipped), /dev/null
// read-write, /dev/zero and /dev/urandom readable; TCP and scopes by ABI. The child adds its working
// directory with `*workdir_access` (everything the ruleset handles). The fd is O_CLOEXEC; -1 if the kernel
// refuses. `*layers` gets the Landlock bits the ruleset will enforce.
int make_landlock_ruleset(int abi, const std::vector<std::string>& read_only, uint32_t* layers,
                          uint64_t* workdir_access);

// Child fd numbers the plan reserves: a target fd in a ChildFd must be below kStatusFd.
constexpr int kStatusFd = 30;    // the status pipe (O_CLOEXEC: exec closes it, the parent reads EOF)
constexpr int kLandlockFd = 31;  // the ruleset, closed once entered
constexpr int kMaxPlanFds = 24;

// What the child reports on the status pipe: once just before execve (step 0, the layers it entered)
// and once more if a step fails (that step, errno). The parent reads records until EOF.
struct ChildStatus {
  uint32_t layers = 0;
  int32_t failed_step = 0;  // a ChildStep, 0 for none
  int32_t error = 0;        // errno of that step
};
enum ChildStep : int32_t {
  kStepNone = 0,
  kStepFds,
  kStepRlimits,
  kStepUnshare,
  kStepIdMaps,
  kStepMounts,
  kStepChdir,
  kStepDropPrivileges,
  kStepNoNewPrivs,
  kStepLandlock,
  kStepSeccomp,
  kStepExec,
};
const char* child_step_name(int32_t step);

struct ChildPlan {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int fd_count = 0;  // child fd fd_target[i] becomes a copy of the parent's fd_source[i]
  int fd_source[kMaxPlanFds] = {};
  int fd_target[kMaxPlanFds] = {};
  int status_fd = -1;
  int landlock_fd = -1;  // -1: no Landlock
  uint32_t landlock_layers = 0;
  uint64_t landlock_workdir_access = 0;
  int rlimit_count = 0;
  int rlimit_resource[8] = {};
  rlimit rlimit_value[8] = {};
  bool as_root = false;
  Want want_namespaces = Want::off;
  Want want_mount_namespace = Want::off;  // already resolved against Landlock by the parent
  Want want_drop_privileges = Want::off;
  Want want_landlock = Want::off;
  Want want_seccomp = Want::off;
  uint32_t uid = 0, gid = 0;
  const char* workdir = nullptr;
  const char* workdir_tmpfs_options = nullptr;  // "size=...,mode=0700,uid=...,gid=..."
  const char* uid_map = nullptr;                // "U U 1\n" (user namespace, parent not root)
  const char* gid_map = nullptr;
  const sock_fprog* seccomp_filter = nullptr;  // null: no seccomp
};

// In the forked child: setsid, fds, rlimits, namespaces and mounts, chdir, uid drop, no_new_privs,
// Landlock, seccomp, then execve. Never returns; on failure writes a ChildStatus and _exit(127).
[[noreturn]] void enter_layers_and_exec(const ChildPlan& plan);

}  // namespace aha::rewards::sandbox_detail
