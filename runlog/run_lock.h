// One writer per run directory: an advisory lock (flock) on <run_dir>/.aha-run.lock, held for as long as
// the RunLock lives. The file holds the holder's pid, so a second `aha train` or `--resume` on the same run
// exits at once naming it. The lock is the kernel's: it goes away with the process, so a killed run never
// leaves a stale lock behind; the file itself stays as the mark that aha created this directory.
#pragma once

#include <filesystem>

namespace aha::runlog {

class RunLock {
 public:
  // std::runtime_error naming the directory and the holder's pid when another process holds it.
  explicit RunLock(const std::filesystem::path& run_dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

std::filesystem::path run_lock_file(const std::filesystem::path& run_dir);

// Whether dir is a run directory aha created: its config.json is a run config whose train.run_name is the
// directory's name, and it has the lock file (or, from runs made before the lock existed, metrics.jsonl or
// checkpoints/). `aha train --overwrite` replaces nothing else.
bool is_run_directory(const std::filesystem::path& dir);

}  // namespace aha::runlog
