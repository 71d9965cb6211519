// The standard reasoning benchmarks as lists of problems, read from the files in ../shared/data (formats
// in its README), in file order:
//   gsm8k      gsm8k/test.jsonl           {"question", "answer"}; answer = the text after the last "#### "
//   math500    math500/test.jsonl         {"question", "answer"}; answer = the text after the last
//                                          "The answer is: " (the reference's \boxed{} answer, without the
//                                          worked solution)
//   aime24     aime24/test.jsonl          {"id", "problem", "answer"}; answer "204"
//   amc23      amc23/test.jsonl           {"id", "problem", "answer"}; answer 27.0 read as "27"
//   humaneval  humaneval/HumanEval.jsonl.gz (gzip JSONL) {"task_id", "prompt", "test", "entry_point"};
//              question = the prompt (signature and docstring), answer = {"prompt", "test",
//              "entry_point"} as JSON text, the ground truth of the code rule (rewards/code/code_reward.h)
// Each benchmark names the reward rule that grades it. Ids: "<benchmark>/<row id>" (the row's id field,
// else its 0-based line number; HumanEval keeps its own "HumanEval/0").
// Bad rows are std::invalid_argument naming file:line and the field ("aime24/test.jsonl:3: field
// 'answer': expected a string or a number, got null").
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "datasets/sources.h"
#include "datasets/task.h"

namespace aha::datasets {

struct Benchmark {
  std::string name;          // "gsm8k", "math500", "aime24", "amc23", "humaneval"
  std::string default_file;  // relative to the shared data directory
  std::string rule;          // the reward rule that grades it: "gsm8k", "math", "integer", "code"
  FieldMapping mapping;      // how its rows become problems (datasets/sources.h)
};

// Unknown name -> std::invalid_argument listing the known benchmarks.
const Benchmark& find_benchmark(const std::string& name);
std::vector<std::string> benchmark_names();

// `data_dir`: where the benchmark folders live; from the project root that is ../shared/data.
inline const std::filesystem::path kDefaultDataDir = "../shared/data";

// Every problem of `file` (gzip or plain JSONL, as the benchmark's format says) in file order.
// std::runtime_error when the file cannot be read; std::invalid_argument for a bad row (see above).
std::vector<Problem> load_benchmark(const Benchmark& benchmark, const std::filesystem::path& file);

}  // namespace aha::datasets
