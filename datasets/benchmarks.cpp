// Benchmark loaders (see benchmarks.h).
#include "datasets/benchmarks.h"

#include <zlib.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "datasets/jsonl.h"

namespace aha::datasets {
namespace {

const std::vector<Benchmark>& benchmarks() {
  static const std::vector<Benchmark> table = {
      {"gsm8k", "gsm8k/test.jsonl", "gsm8k"},
      {"math500", "math500/test.jsonl", "math"},
      {"aime24", "aime24/test.jsonl", "integer"},
      {"amc23", "amc23/test.jsonl", "integer"},
      {"humaneval", "humaneval/HumanEval.jsonl.gz", "code"},
  };
  return table;
}

// The whole file, inflated when it is gzip-compressed (zlib passes any other file through unchanged).
std::string read_maybe_gzip(const std::filesystem::path& file) {
  std::error_code ignored;
  gzFile in = std::filesystem::is_regular_file(file, ignored) ? gzopen(file.c_str(), "rb") : nullptr;
  if (!in) throw std::runtime_error(file.string() + ": cannot open (expected a JSONL benchmark file)");
  std::string text, chunk(1 << 16, '\0');
  int got = 0;
  while ((got = gzread(in, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0) text.append(chunk, 0, got);
  int error = 0;
  const std::string message = got < 0 ? gzerror(in, &error) : "";
  gzclose(in);
  if (got < 0) throw std::runtime_error(file.string() + ": cannot read (gzip: " + message + ")");
  return text;
}

struct Row {
  const nlohmann::json& json;
  std::string where;  // "file:line"

  [[noreturn]] void fail(const std::string& field, const std::string& expected) const {
    auto it = json.find(field);
    const std::string got = it == json.end() ? "nothing (missing)" : it->dump().substr(0, 80);
    throw std::invalid_argument(where + ": field '" + field + "': expected " + expected + ", got " + got);
  }
  std::string text(const std::string& field) const {
    auto it = json.find(field);
    if (it == json.end() || !it->is_string() || it->get<std::string>().empty()) fail(field, "a non-empty string");
    return it->get<std::string>();
  }
  // A string, or a number written without a needless ".0" (amc23 stores 27 as 27.0).
  std::string text_or_number(const std::string& field) const {
    auto it = json.find(field);
    if (it != json.end() && it->is_number_integer()) return it->dump();
    if (it != json.end() && it->is_number_float()) {
      const double value = it->get<double>();
      if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15)
        return std::to_string(static_cast<int64_t>(value));
      return it->dump();
    }
    if (it != json.end() && it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
    fail(field, "a string or a number");
  }
  // The trimmed text after the last `marker` in a string field.
  std::string after_last(const std::string& field, const std::string& marker) const {
    const std::string full = text(field);
    const size_t at = full.rfind(marker);
    if (at == std::string::npos) fail(field, "a text containing '" + marker + "'");
    const std::string tail = full.substr(at + marker.size());
    const size_t begin = tail.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) fail(field, "an answer after '" + marker + "'");
    return tail.substr(begin, tail.find_last_not_of(" \t\r\n") - begin + 1);
  }
};

Problem read_problem(const std::string& benchmark, const Row& row, int64_t index) {
  const std::string row_id = row.json.contains("id") ? row.text_or_number("id") : std::to_string(index);
  const std::string id = benchmark + "/" + row_id;
  if (benchmark == "gsm8k") return {id, row.text("question"), row.after_last("answer", "#### ")};
  if (benchmark == "math500") return {id, row.text("question"), row.after_last("answer", "The answer is: ")};
  if (benchmark == "aime24" || benchmark == "amc23")
    return {id, row.text("problem"), row.text_or_number("answer")};
  // humaneval
  const std::string prompt = row.text("prompt");
  const nlohmann::json truth = {
      {"prompt", prompt}, {"test", row.text("test")}, {"entry_point", row.text("entry_point")}};
  return {row.text("task_id"), prompt, truth.dump()};
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
  std::istringstream lines(read_maybe_gzip(file));
  std::vector<Problem> problems;
  for_each_jsonl(lines, file.string(), [&](const nlohmann::json& json, int64_t, const std::string& where) {
    if (!json.is_object()) throw std::invalid_argument(where + ": expected a JSON object, got " + json.dump().substr(0, 80));
    problems.push_back(read_problem(benchmark.name, Row{json, where}, static_cast<int64_t>(problems.size())));
  });
  if (problems.empty()) throw std::invalid_argument(file.string() + ": no problems (expected JSONL rows)");
  return problems;
}

}  // namespace aha::datasets
