// What a run logs as it goes, in one place: each row of step metrics goes to metrics.jsonl, to a TensorBoard
// event file (tensorboard.h) and to curves.svg (curves.h, redrawn from every row so far); a few completions
// per step go to samples.jsonl. The file layout of a run directory is in run_dir.h.
//
//   runs/<name>/metrics.jsonl                  one row per line, {"step": n, ...}, in the order logged
//   runs/<name>/samples.jsonl                  one sample per line
//   runs/<name>/events.out.tfevents.<t>.<host>.<pid>.<n>   created at the first row of this process
//   runs/<name>/curves.svg                     rewritten atomically after every row
//
// Resume: the trainer cuts metrics.jsonl back to the checkpoint's step (truncate_jsonl_to_step), then
// reopen() rebuilds the plots from what is left, so rows of the steps that will run again appear once.
// Deliberately, TensorBoard gets one fresh event file rebuilt from metrics.jsonl rather than appended old
// files: TensorBoard would otherwise draw both the lost and the rerun values of the same steps.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runlog/tensorboard.h"

namespace aha::runlog {

class MetricsLog {
 public:
  // title: the run name on curves.svg. Creates nothing until the first row or sample.
  MetricsLog(std::filesystem::path run_dir, std::string title);

  // Appends one row ({"step": n, ...}) to metrics.jsonl (when to_jsonl), to the TensorBoard events and to
  // curves.svg (redrawn). to_jsonl = false: a row that is plotted but kept out of metrics.jsonl (the final
  // evaluation, whose step already has a row there). row must be an object with a numeric "step".
  void log(const nlohmann::json& row, bool to_jsonl = true);

  // Appends one line to samples.jsonl.
  void append_sample(const nlohmann::json& sample);

  // On resume, after metrics.jsonl was cut back to the checkpoint: removes the old events.out.tfevents.*
  // files, starts fresh events and curve rows from metrics.jsonl, and redraws curves.svg once. A line of
  // metrics.jsonl that is not JSON is an error naming file:line.
  void reopen();

 private:
  void add_to_plots(const nlohmann::json& row);

  std::filesystem::path run_dir_;
  std::string title_;
  std::unique_ptr<EventWriter> events_;  // opened at the first row, so a run that logs nothing has no file
  std::vector<nlohmann::json> curve_rows_;
};

// Appends j.dump() + "\n" to file (created when missing); a failed open or write is std::runtime_error
// naming the file and strerror(errno).
void append_line(const std::filesystem::path& file, const nlohmann::json& j);

// write_file_atomically(file, j.dump(2) + "\n"): config.json, eval_before.json, summary.json.
void write_json_atomically(const std::filesystem::path& file, const nlohmann::json& j);

}  // namespace aha::runlog
