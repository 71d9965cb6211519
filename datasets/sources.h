// Data sources: where the problems of `aha train` (data.train) and of its held-out evals (data.eval) come
// from, and how a row of someone's file becomes a Problem. A source is one of
//   a file        .jsonl, .jsonl.gz, .json (an array of rows), .parquet (Apache Arrow, datasets/parquet.h)
//   a folder      Parquet shards in the HuggingFace datasets layout (data/<split>-00000-of-00003.parquet)
//   a benchmark   gsm8k, math500, aime24, amc23, humaneval (the files in ../shared/data)
//   a generator   arith, countdown (synthetic tasks, datasets/task.h)
// written in the run config as an object {"path" | "benchmark" | "generator": ..., "weight", "name", "split",
// "size", "options", "preset", <mapping keys>} or as a string (a benchmark or generator name, else a path).
//
// Field mapping (veRL / OpenRLHF style; a key may be a dotted path into nested objects, "a.b.c"):
//   prompt_key       the question: a string, or chat messages [{"role", "content"}, ...] (rendered with the
//                    model's chat template by the caller)
//   answer_key       the ground truth: a string or number as written; an object or array as JSON text
//   answer_fields    {"numbers": "nums", "target": "target"}: the ground truth is this object built from the
//                    row's fields instead (Countdown's and the code rule's structured ground truths)
//   answer_format    raw | gsm8k (the text after the last "####") | after:<marker> (after the last marker)
//   data_source_key  the row's own data source name when the row has it (veRL's "data_source"), else the
//                    source's name; it picks the row's reward rules and names its metrics
//   id_key           the row's id; "" -> "<name>/<row index>"
//   question         "" (the prompt field as it is), "countdown" (TinyZero's question from answer_fields) or
//                    "mbpp" (the task and its asserts; the ground truth becomes the code rule's HumanEval form)
// Every field of the row is kept (Problem::row) and reaches every reward rule.
// Presets set the mapping for common layouts; any mapping key written next to a preset wins:
//   gsm8k      question / answer with "#### 42"             math   problem / solution (the math rule reads
//   countdown  nums / target, TinyZero's question                   the \boxed answer out of the solution)
//   humaneval  task_id / prompt / test / entry_point        verl   prompt (messages) / data_source /
//   code_io    prompt / tests ([{"input", "output"}])              reward_model.ground_truth / extra_info
//   mbpp       task_id / text / test_list (asserts) / test_setup_code
//
// Bad rows: a line that is not JSON, a row that is not an object, a missing key, a value of the wrong type,
// an empty prompt or an answer that cannot be read is std::invalid_argument "<file>:<line>: field
// '<key>': expected ..., got ..." (Parquet and JSON arrays say "row <n>"), or, with OnBadRow::Skip, the row
// is skipped and counted. A file that cannot be read (missing, not Parquet, no rows) is std::runtime_error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/task.h"

namespace aha::datasets {

enum class AnswerFormat { Raw, Gsm8k, After };

struct FieldMapping {
  std::string prompt_key = "prompt";
  std::string answer_key = "answer";
  nlohmann::json answer_fields;  // null, or {"<answer key>": "<row path>", ...}
  std::string answer_format = "raw";
  std::string data_source_key = "data_source";
  std::string id_key;
  std::string question;  // "", "countdown" or "mbpp"
};

enum class SourceKind { File, Folder, Benchmark, Generator };

struct SourceSpec {
  SourceKind kind = SourceKind::Generator;
  std::string location;  // the path, benchmark or generator name
  std::string name;      // the data source name; default: preset, benchmark, generator or the file's stem
  double weight = 1.0;   // share of the training draws (data.train); ignored for data.eval
  std::string split;     // folders and generators: "train" / "test" (default: the list's own split)
  int64_t size = 0;      // the first N problems (0: all); a generator: a pool of N (0: a fresh one per draw)
  nlohmann::json options = nlohmann::json::object();  // a generator's options
  std::string preset;    // "" or a mapping preset
  FieldMapping mapping;

  nlohmann::json to_json() const;
};

// A source as the run config writes it; `where` names it in errors ("run.json: data.train[1]").
// Relative paths stay as written (resolved against the current directory when read).
SourceSpec parse_source(const nlohmann::json& j, const std::string& where);
// One source (an object or string) or a list of them; an empty list is an error.
std::vector<SourceSpec> parse_sources(const nlohmann::json& j, const std::string& where);
std::vector<std::string> mapping_presets();
// The reward rule that naturally grades a source: a benchmark's own, a generator's (arith: accuracy,
// countdown: countdown), a preset's (gsm8k, math, countdown; code for humaneval, mbpp and code_io); ""
// when nothing says (a plain mapping or veRL rows, whose data sources vary).
std::string natural_verifier(const SourceSpec& spec);

enum class OnBadRow { Error, Skip };
OnBadRow parse_on_bad_row(const std::string& text);  // "error" | "skip"
std::string to_string(OnBadRow on_bad_row);

struct LoadedSource {
  SourceSpec spec;
  std::string name;               // the resolved source name
  std::vector<Problem> problems;  // finite sources, in file order (the first `size`)
  std::unique_ptr<Task> task;     // a generator with size 0: problems are drawn from it, never run out
  uint64_t task_seed = 0;
  int64_t rows = 0;                   // rows read
  int64_t skipped = 0;                // bad rows skipped (OnBadRow::Skip)
  std::vector<std::string> skip_reasons;  // the first few, for the log

  bool infinite() const { return task != nullptr; }
};

// Reads a source. `split`: used when the spec names none. `seed`: a generator's problems.
// `shared_data`: where benchmark folders live (kDefaultDataDir from the repository root).
LoadedSource load_source(const SourceSpec& spec, Split split, uint64_t seed, OnBadRow on_bad_row,
                         const std::filesystem::path& shared_data);

// Rows of one file as JSON with their place for errors ("<file>:<line>" or "<file>: row <n>"); a line that
// is not JSON is a row whose `error` says so (the caller decides to throw or skip).
struct RawRow {
  nlohmann::json json;
  std::string where;
  std::string error;
};
std::vector<RawRow> read_rows(const std::filesystem::path& file);

// A row through a mapping: the Problem, or std::invalid_argument naming row.where and the field.
Problem map_row(const nlohmann::json& row, const FieldMapping& mapping, const std::string& source_name,
                int64_t index, const std::string& where);

// The value at a dotted path ("reward_model.ground_truth"), or nullptr.
const nlohmann::json* find_path(const nlohmann::json& row, const std::string& path);

}  // namespace aha::datasets
