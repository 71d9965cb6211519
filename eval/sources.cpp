// Problem sources and completions made elsewhere (see sources.h).
#include "eval/sources.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "datasets/benchmarks.h"
#include "datasets/jsonl.h"

namespace aha::eval {
namespace {

// Ground truth as the rules read it: a string as it is, a number as written, an object (the code rule's
// {"prompt", "test", "entry_point"} or {"tests"}) as JSON text.
std::string answer_text(const nlohmann::json& answer, const std::string& where) {
  if (answer.is_string()) return answer.get<std::string>();
  if (answer.is_number()) return answer.dump();
  if (answer.is_object()) return answer.dump();
  throw std::invalid_argument(where + ": field 'answer': expected a string, a number or an object, got " +
                              answer.dump().substr(0, 80));
}

// One response: a string, or {"text", "finish_reason"?, "tokens"?}. Returns whether "tokens" was given
// (the length is then in tokens, else left for the caller to set).
bool read_response(const nlohmann::json& r, const std::string& where, const std::string& field,
                   EvalSample& s) {
  if (r.is_string()) {
    s.text = r.get<std::string>();
    return false;
  }
  if (!r.is_object() || !r.contains("text") || !r["text"].is_string())
    throw std::invalid_argument(where + ": field '" + field +
                                "': expected a string or {\"text\": ...}, got " + r.dump().substr(0, 80));
  s.text = r["text"].get<std::string>();
  if (auto f = r.find("finish_reason"); f != r.end() && !f->is_null()) {
    if (!f->is_string())
      throw std::invalid_argument(where + ": field '" + field + ".finish_reason': expected a string");
    s.finish_reason = f->get<std::string>();
  }
  if (auto t = r.find("tokens"); t != r.end()) {
    if (!t->is_number_integer() || t->get<int64_t>() < 0)
      throw std::invalid_argument(where + ": field '" + field + ".tokens': expected a token count >= 0");
    s.length = t->get<int64_t>();
    return true;
  }
  return false;
}

}  // namespace

ProblemSource task_source(const std::string& task, const std::string& split, std::optional<int64_t> problems,
                          uint64_t seed) {
  ProblemSource source;
  auto made = datasets::make_task(task, nlohmann::json::object());
  source.problems =
      made->problems(datasets::parse_split(split), problems.value_or(HeldOutDefaults::problems), seed);
  source.verifier = "accuracy";
  source.template_name = HeldOutDefaults::template_name;
  source.temperature = HeldOutDefaults::temperature;
  source.top_p = HeldOutDefaults::top_p;
  source.max_new_tokens = HeldOutDefaults::max_new_tokens;
  source.description = {{"task", task}, {"split", split}};
  return source;
}

ProblemSource benchmark_source(const std::string& benchmark_name, const std::string& data_file,
                               int64_t problems) {
  if (problems < 0)
    throw std::invalid_argument("benchmark " + benchmark_name + ": problems: expected >= 0 (0: all), got " +
                                std::to_string(problems));
  const datasets::Benchmark& benchmark = datasets::find_benchmark(benchmark_name);
  const std::string file =
      data_file.empty() ? (datasets::kDefaultDataDir / benchmark.default_file).string() : data_file;
  ProblemSource source;
  source.problems = datasets::load_benchmark(benchmark, file);
  if (problems > 0 && static_cast<size_t>(problems) < source.problems.size())
    source.problems.resize(problems);
  source.verifier = benchmark.rule;
  source.template_name = BenchmarkDefaults::template_name;
  source.temperature = BenchmarkDefaults::temperature;
  source.top_p = BenchmarkDefaults::top_p;
  source.max_new_tokens = BenchmarkDefaults::max_new_tokens;
  source.description = {{"benchmark", benchmark.name}, {"data", file}};
  return source;
}

ProblemSource data_source(const std::string& spec_text, const std::string& verifier, std::optional<int64_t> problems,
                          uint64_t seed) {
  nlohmann::json j = spec_text;
  if (!spec_text.empty() && spec_text.front() == '{') {
    j = nlohmann::json::parse(spec_text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) throw std::invalid_argument("--source: invalid JSON: " + spec_text);
  }
  datasets::SourceSpec spec = datasets::parse_source(j, "--source");
  const bool generated = spec.kind == datasets::SourceKind::Generator;
  if (problems) spec.size = *problems;
  else if (generated && spec.size == 0) spec.size = HeldOutDefaults::problems;
  ProblemSource source;
  source.problems = datasets::load_source(spec, datasets::Split::Test, seed, datasets::OnBadRow::Error,
                                          datasets::kDefaultDataDir)
                        .problems;
  source.verifier = verifier.empty() ? datasets::natural_verifier(spec) : verifier;
  if (source.verifier.empty())
    throw std::invalid_argument("--source " + spec.name +
                                ": nothing says which rule grades it; give --verifier (math, gsm8k, integer, code, ...)");
  source.template_name = generated ? HeldOutDefaults::template_name : BenchmarkDefaults::template_name;
  source.temperature = generated ? HeldOutDefaults::temperature : BenchmarkDefaults::temperature;
  source.top_p = generated ? HeldOutDefaults::top_p : BenchmarkDefaults::top_p;
  source.max_new_tokens = generated ? HeldOutDefaults::max_new_tokens : BenchmarkDefaults::max_new_tokens;
  source.description = {{"source", spec.to_json()}};
  return source;
}

std::string verifier_for(const std::string& name) {
  for (const std::string& b : datasets::benchmark_names())
    if (b == name) return datasets::find_benchmark(name).rule;
  if (name == "arith") return "accuracy";
  return name;
}

Responses read_responses(const std::string& file) {
  std::ifstream in(file);
  if (!in)
    throw std::runtime_error(file + ": cannot open (expected JSONL: {\"answer\", \"responses\": [...]})");
  Responses out;
  std::vector<bool> token_counts;  // per sample: whether "tokens" was given
  size_t first_count = 0;
  datasets::for_each_jsonl(
      in, file, [&](const nlohmann::json& line, int64_t line_no, const std::string& where) {
        if (!line.is_object()) throw std::invalid_argument(where + ": expected a JSON object");
        EvalCase c;
        c.id = std::to_string(line_no);
        if (auto id = line.find("id"); id != line.end())
          c.id = id->is_string() ? id->get<std::string>() : id->dump();
        if (auto prompt = line.find("prompt"); prompt != line.end() && prompt->is_string())
          c.prompt = prompt->get<std::string>();
        auto answer = line.find("answer");
        if (answer == line.end())
          throw std::invalid_argument(where + ": field 'answer': missing (the ground truth)");
        c.answer = answer_text(*answer, where);
        auto responses = line.find("responses");
        if (responses == line.end() || !responses->is_array() || responses->empty())
          throw std::invalid_argument(where +
                                      ": field 'responses': expected a non-empty array of strings or "
                                      "{\"text\", \"finish_reason\"?, \"tokens\"?} objects");
        if (out.cases.empty()) first_count = responses->size();
        if (responses->size() != first_count)
          throw std::invalid_argument(where + ": field 'responses': " + std::to_string(responses->size()) +
                                      " responses, but the first problem has " + std::to_string(first_count) +
                                      " (pass@k and maj@k need the same k for every problem)");
        for (size_t i = 0; i < responses->size(); ++i) {
          EvalSample s;
          const bool has_tokens =
              read_response((*responses)[i], where, "responses[" + std::to_string(i) + "]", s);
          if (!has_tokens) s.length = static_cast<int64_t>(s.text.size());
          token_counts.push_back(has_tokens);
          c.samples.push_back(std::move(s));
        }
        out.cases.push_back(std::move(c));
      });
  if (out.cases.empty()) throw std::invalid_argument(file + ": no problems (expected JSONL lines)");
  const bool all_tokens = std::all_of(token_counts.begin(), token_counts.end(), [](bool b) { return b; });
  if (!all_tokens)
    for (EvalCase& c : out.cases)
      for (EvalSample& s : c.samples) s.length = static_cast<int64_t>(s.text.size());
  out.length_unit = all_tokens ? "tokens" : "bytes";
  return out;
}

}  // namespace aha::eval
