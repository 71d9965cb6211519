// The run directory's files that outlive a process: checkpoints/step-N/ (each published atomically by
// policy::save_policy), the `checkpoints/latest` pointer (a one-line file replaced by rename), pruning to
// the newest K, and the JSONL logs cut back to a checkpoint's step on resume. Torch-free.
//
//   runs/<name>/config.json            resolved run config
//   runs/<name>/metrics.jsonl          one line per step ({"step": n, ...})
//   runs/<name>/samples.jsonl          a few completions per step
//   runs/<name>/checkpoints/step-N/    HF-layout policy + trainer_state.json + trainer_state.pt
//   runs/<name>/checkpoints/latest     "step-N\n": the newest complete checkpoint
//
// A crash at any moment leaves either the previous `latest` or the new one, never a half-written
// checkpoint under a step-N name: save_policy writes step-N.tmp-<pid>/ and renames it, and `latest` is
// written as latest.tmp and renamed after that. Leftover *.tmp-* / *.old-* directories are removed on resume.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace aha::runlog {

std::filesystem::path checkpoints_dir(const std::filesystem::path& run_dir);
std::filesystem::path checkpoint_path(const std::filesystem::path& run_dir, int64_t step);  // .../step-N

// The checkpoint `latest` names, or nullopt when there is none. A `latest` naming a missing directory or
// holding anything but "step-N" is an error naming the file.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& run_dir);
// The step of a step-N directory name; throws std::invalid_argument on anything else.
int64_t checkpoint_step(const std::filesystem::path& checkpoint_dir);

// Points `latest` at step-N: writes latest.tmp, fsyncs it, renames it over latest, fsyncs the directory.
void set_latest_checkpoint(const std::filesystem::path& run_dir, int64_t step);

// Removes step-N directories beyond the newest `keep` (never the one `latest` names), and leftovers of
// interrupted writes (*.tmp-*, *.old-*, latest.tmp). Directories newer than `latest` (published, then the
// process died before moving the pointer) are removed too when remove_newer_than_latest is set (on resume:
// the run continues from `latest` and will write them again).
void prune_checkpoints(const std::filesystem::path& run_dir, int64_t keep, bool remove_newer_than_latest = false);

// Rewrites a JSONL log keeping the lines whose "step" is <= max_step (atomically: tmp + rename). A missing
// file is left missing; a line that is not a JSON object with an integer "step" is an error naming the line.
void truncate_jsonl_to_step(const std::filesystem::path& file, int64_t max_step);

// Writes `bytes` to `file` via file.tmp + fsync + rename.
void write_file_atomically(const std::filesystem::path& file, const std::string& bytes);

}  // namespace aha::runlog
