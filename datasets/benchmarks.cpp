// Benchmark loaders (see benchmarks.h).
#include "datasets/benchmarks.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace aha::datasets {
namespace {

FieldMapping mapping(std::string prompt_key, std::string answer_key, std::string answer_format) {
  FieldMapping m;
  m.prompt_key = std::move(prompt_key);
  m.answer_key = std::move(answer_key);
  m.answer_format = std::move(answer_format);
  return m;
}

const std::vector<Benchmark>& benchmarks() {
  static const std::vector<Benchmark> table = [] {
    FieldMapping humaneval;
    humaneval.answer_fields = {{"prompt", "prompt"}, {"test", "test"}, {"entry_point", "entry_point"}};
    humaneval.id_key = "task_id";
    return std::vector<Benchmark>{
        {"gsm8k", "gsm8k/test.jsonl", "gsm8k", mapping("question", "answer", "gsm8k")},
        {"math500", "math500/test.jsonl", "math", mapping("question", "answer", "after:The answer is: ")},
        {"aime24", "aime24/test.jsonl", "integer", mapping("problem", "answer", "raw")},
        {"amc23", "amc23/test.jsonl", "integer", mapping("problem", "answer", "raw")},
        {"humaneval", "humaneval/HumanEval.jsonl.gz", "code", humaneval},
    };
  }();
  return table;
}

}  // namespace

std::vector<std::string> benchmark_names() {
  std::vector<std::string> names;
  for (const auto& b : benchmarks()) names.push_back(b.name);
  return names;
}

const Benchmark& find_benchmark(const std::string& name) {
  for (const auto& b : benchmarks())
    if (b.name == name) return b;
  std::string names;
  for (const std::string& n : benchmark_names()) names += (names.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown benchmark '" + name + "'; known benchmarks: " + names);
}

std::vector<Problem> load_benchmark(const Benchmark& benchmark, const std::filesystem::path& file) {
  std::vector<Problem> problems;
  for (const RawRow& row : read_rows(file)) {
    if (!row.error.empty()) throw std::invalid_argument(row.error);
    problems.push_back(map_row(row.json, benchmark.mapping, benchmark.name,
                               static_cast<int64_t>(problems.size()), row.where));
  }
  if (problems.empty()) throw std::invalid_argument(file.string() + ": no problems (expected JSONL rows)");
  return problems;
}

}  // namespace aha::datasets
