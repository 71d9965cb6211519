// `aha eval` (see eval.h): picks the problems and the verifier, generates or reads the completions, grades
// them with grpo::score_cases, prints the summary JSON on stdout (with --compare, a before/after table on
// stderr) and the per-problem JSONL to --out.
#include "cli/eval.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "cli/chat_prompt.h"
#include "datasets/benchmarks.h"
#include "datasets/jsonl.h"
#include "datasets/template.h"
#include "grpo/evaluate.h"
#include "grpo/run_config.h"
#include "grpo/trainer.h"
#include "policy/checkpoint.h"
#include "policy/eos.h"

namespace aha::cli {
namespace {

// The verifier rule for --task with --responses: a benchmark name grades as that benchmark does, "arith"
// as the arith task does (accuracy); anything else is a rule name (math, gsm8k, integer, code, ...).
std::string verifier_for(const std::string& name) {
  for (const std::string& b : datasets::benchmark_names())
    if (b == name) return datasets::find_benchmark(name).rule;
  if (name == "arith") return "accuracy";
  return name;
}

// Ground truth as the rules read it: a string as it is, a number as written, an object (the code rule's
// {"prompt", "test", "entry_point"} or {"tests"}) as JSON text.
std::string answer_text(const nlohmann::json& answer, const std::string& where) {
  if (answer.is_string()) return answer.get<std::string>();
  if (answer.is_number()) return answer.dump();
  if (answer.is_object()) return answer.dump();
  throw std::invalid_argument(where + ": field 'answer': expected a string, a number or an object, got " +
                              answer.dump().substr(0, 80));
}

// --responses: one problem per line, {"id"?, "prompt"?, "answer", "responses": [...]}, each response a
// string or {"text", "finish_reason"?, "tokens"?}. Lengths are in tokens when every response gives
// "tokens", else in bytes of text.
std::pair<std::vector<grpo::EvalCase>, std::string> read_responses(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file + ": cannot open (expected JSONL: {\"answer\", \"responses\": [...]})");
  std::vector<grpo::EvalCase> cases;
  std::vector<bool> token_counts;  // per sample: whether "tokens" was given
  size_t first_count = 0;
  datasets::for_each_jsonl(in, file, [&](const nlohmann::json& line, int64_t line_no, const std::string& where) {
    if (!line.is_object()) throw std::invalid_argument(where + ": expected a JSON object");
    grpo::EvalCase c;
    c.id = std::to_string(line_no);
    if (auto id = line.find("id"); id != line.end()) c.id = id->is_string() ? id->get<std::string>() : id->dump();
    if (auto prompt = line.find("prompt"); prompt != line.end() && prompt->is_string()) c.prompt = prompt->get<std::string>();
    auto answer = line.find("answer");
    if (answer == line.end()) throw std::invalid_argument(where + ": field 'answer': missing (the ground truth)");
    c.answer = answer_text(*answer, where);
    auto responses = line.find("responses");
    if (responses == line.end() || !responses->is_array() || responses->empty())
      throw std::invalid_argument(where + ": field 'responses': expected a non-empty array of strings or "
                                  "{\"text\", \"finish_reason\"?, \"tokens\"?} objects");
    if (cases.empty()) first_count = responses->size();
    if (responses->size() != first_count)
      throw std::invalid_argument(where + ": field 'responses': " + std::to_string(responses->size()) +
                                  " responses, but the first problem has " + std::to_string(first_count) +
                                  " (pass@k and maj@k need the same k for every problem)");
    for (size_t i = 0; i < responses->size(); ++i) {
      const nlohmann::json& r = (*responses)[i];
      const std::string field = "responses[" + std::to_string(i) + "]";
      grpo::EvalSample s;
      bool has_tokens = false;
      if (r.is_string()) {
        s.text = r.get<std::string>();
      } else if (r.is_object() && r.contains("text") && r["text"].is_string()) {
        s.text = r["text"].get<std::string>();
        if (auto f = r.find("finish_reason"); f != r.end() && !f->is_null()) {
          if (!f->is_string()) throw std::invalid_argument(where + ": field '" + field + ".finish_reason': expected a string");
          s.finish_reason = f->get<std::string>();
        }
        if (auto t = r.find("tokens"); t != r.end()) {
          if (!t->is_number_integer() || t->get<int64_t>() < 0)
            throw std::invalid_argument(where + ": field '" + field + ".tokens': expected a token count >= 0");
          s.length = t->get<int64_t>();
          has_tokens = true;
        }
      } else {
        throw std::invalid_argument(where + ": field '" + field + "': expected a string or {\"text\": ...}, got " +
                                    r.dump().substr(0, 80));
      }
      if (!has_tokens) s.length = static_cast<int64_t>(s.text.size());
      token_counts.push_back(has_tokens);
      c.samples.push_back(std::move(s));
    }
    cases.push_back(std::move(c));
  });
  if (cases.empty()) throw std::invalid_argument(file + ": no problems (expected JSONL lines)");
  const bool all_tokens = std::all_of(token_counts.begin(), token_counts.end(), [](bool b) { return b; });
  if (!all_tokens)
    for (auto& c : cases)
      for (auto& s : c.samples) s.length = static_cast<int64_t>(s.text.size());
  return {std::move(cases), all_tokens ? "tokens" : "bytes"};
}

// Where the problems come from, and the defaults that go with them (see EvalArgs).
struct ProblemSource {
  std::vector<datasets::Problem> problems;
  std::string verifier, template_name;
  double temperature, top_p;
  int64_t max_new_tokens;
  nlohmann::json description;  // task or benchmark fields for the summary
};

ProblemSource problem_source(const EvalArgs& args) {
  ProblemSource source;
  if (!args.task.empty()) {  // the trainer's held-out eval settings, taken from the run config's defaults
    const grpo::RunConfig defaults;
    auto task = datasets::make_task(args.task, nlohmann::json::object());
    source.problems = task->problems(datasets::parse_split(args.split),
                                     args.problems.value_or(defaults.train.eval_problems), args.seed);
    source.verifier = "accuracy";
    source.template_name = defaults.data.template_name;
    source.temperature = defaults.train.eval_temperature;
    source.top_p = defaults.train.eval_top_p;
    source.max_new_tokens = defaults.rollout.max_new_tokens;
    source.description = {{"task", args.task}, {"split", args.split}};
    return source;
  }
  const datasets::Benchmark& benchmark = datasets::find_benchmark(args.benchmark);
  const std::string file =
      args.data.empty() ? (datasets::kDefaultDataDir / benchmark.default_file).string() : args.data;
  source.problems = datasets::load_benchmark(benchmark, file);
  const int64_t n = args.problems.value_or(0);
  if (n < 0) throw std::invalid_argument("--problems: expected >= 0 (0: all), got " + std::to_string(n));
  if (n > 0 && static_cast<size_t>(n) < source.problems.size()) source.problems.resize(n);
  source.verifier = benchmark.rule;
  source.template_name = "r1zero";
  source.temperature = 0.6;
  source.top_p = 0.95;
  source.max_new_tokens = 4096;
  source.description = {{"benchmark", benchmark.name}, {"data", file}};
  return source;
}

grpo::EvalResult evaluate_model(const std::string& model_dir, const std::vector<datasets::Problem>& problems,
                                const std::string& template_name, const grpo::EvalOptions& options) {
  auto policy = policy::load_policy(model_dir);
  std::vector<std::string> prompts;
  if (template_name == "chat") {
    for (const auto& p : problems)
      prompts.push_back(render_chat(model_dir, *policy.tokenizer, p.question, "--template chat"));
  } else {
    const std::string text = datasets::resolve_template(template_name);
    for (const auto& p : problems) prompts.push_back(datasets::render_prompt(text, p));
  }
  rollout::Engine engine(policy.model, policy.tokenizer, policy::resolve_eos_token(policy));
  return grpo::evaluate_prompts(engine, problems, prompts, options);
}

void write_per_problem(std::ostream& out, const grpo::EvalResult& result, const std::string& model) {
  for (const auto& p : result.per_problem) {
    nlohmann::json line = p.to_json();
    if (!model.empty()) line["model"] = model;
    out << line.dump() << "\n";
  }
}

std::string format_value(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", v.get<double>());
  return buffer;
}

// One row per metric: name, before, after, change; pass@k in increasing k, then maj@k, rates, lengths.
std::string comparison_table(const grpo::EvalResult& first, const nlohmann::json& before,
                             const nlohmann::json& after) {
  std::vector<std::string> names;
  for (const auto& [k, value] : first.pass_at) names.push_back("pass@" + std::to_string(k));
  names.push_back("maj@" + std::to_string(first.k));
  for (const char* name : {"format_rate", "truncation_rate", "mean_length", "min_length", "max_length"})
    names.push_back(name);
  std::ostringstream table;
  char row[160];
  std::snprintf(row, sizeof row, "%-16s %10s %10s %10s\n", "metric", "before", "after", "change");
  table << row;
  for (const std::string& name : names) {
    if (!before.contains(name) || !after.contains(name)) continue;  // maj@k without an answer key
    const nlohmann::json &b = before[name], &a = after[name];
    std::string change = "-";
    if (b.is_number() && a.is_number()) {
      char d[32];
      std::snprintf(d, sizeof d, "%+.3f", a.get<double>() - b.get<double>());
      change = d;
    }
    std::snprintf(row, sizeof row, "%-16s %10s %10s %10s\n", name.c_str(), format_value(b).c_str(),
                  format_value(a).c_str(), change.c_str());
    table << row;
  }
  return table.str();
}

std::ofstream open_out(const std::string& file) {
  std::ofstream out(file);
  if (!out) throw std::runtime_error(file + ": cannot write");
  return out;
}

// Options every evaluation shares: the verifier, the scoring workers, and the code rule's own workers.
grpo::EvalOptions scoring_options(const std::string& verifier, int workers) {
  grpo::EvalOptions options;
  options.verifier = verifier;
  options.workers = workers;
  if (verifier == "code") options.rules = {{"code", 1.0, {{"workers", workers}}}};
  return options;
}

int eval_responses(const EvalArgs& args) {
  if (!args.model.empty() || !args.compare.empty())
    throw std::invalid_argument("--responses: grades completions made elsewhere; leave out --model and --compare");
  if (args.task.empty() == args.benchmark.empty())
    throw std::invalid_argument("--responses needs the verifier: --task math|gsm8k|integer|code|arith or --benchmark NAME");
  const grpo::EvalOptions options = scoring_options(verifier_for(args.task.empty() ? args.benchmark : args.task), args.workers);
  auto [cases, length_unit] = read_responses(args.responses);
  const grpo::EvalResult result = grpo::score_cases(std::move(cases), options, length_unit);
  if (!args.out.empty()) {
    std::ofstream out = open_out(args.out);
    write_per_problem(out, result, "");
  }
  nlohmann::json summary = result.summary();
  summary["responses"] = args.responses;
  std::cout << summary.dump(2) << std::endl;
  return 0;
}

}  // namespace

int cmd_eval(const EvalArgs& args) {
  if (args.workers < 1) throw std::invalid_argument("--workers: expected >= 1, got " + std::to_string(args.workers));
  if (args.samples < 1) throw std::invalid_argument("--samples: expected >= 1, got " + std::to_string(args.samples));
  if (args.batch < 1) throw std::invalid_argument("--batch: expected >= 1, got " + std::to_string(args.batch));
  if (!args.responses.empty()) return eval_responses(args);
  if (args.model.empty()) throw std::invalid_argument("eval: --model DIR is required (or --responses FILE)");
  if (args.task.empty() == args.benchmark.empty())
    throw std::invalid_argument("eval: give exactly one of --task arith or --benchmark gsm8k|math500|aime24|amc23|humaneval");
  if (!args.data.empty() && args.benchmark.empty()) throw std::invalid_argument("--data: only with --benchmark");

  ProblemSource source = problem_source(args);
  const std::string template_name = args.template_name.value_or(source.template_name);
  if (template_name != "chat") datasets::resolve_template(template_name);  // a bad template fails before loading
  grpo::EvalOptions options = scoring_options(source.verifier, args.workers);
  options.samples = args.samples;
  options.seed = args.seed;
  options.prompts_per_batch = args.batch;
  options.generation.max_new_tokens = args.max_new_tokens.value_or(source.max_new_tokens);
  options.generation.sampling = {args.temperature.value_or(source.temperature), args.top_p.value_or(source.top_p), 0};
  options.generation.stop_strings = args.stop;

  auto describe = [&](const grpo::EvalResult& result, const std::string& model) {
    nlohmann::json summary = result.summary();
    summary["model"] = model;
    summary.update(source.description);
    summary["template"] = template_name;
    summary["temperature"] = options.generation.sampling.temperature;
    summary["top_p"] = options.generation.sampling.top_p;
    summary["max_new_tokens"] = options.generation.max_new_tokens;
    summary["seed"] = options.seed;
    return summary;
  };
  std::ofstream out;
  if (!args.out.empty()) out = open_out(args.out);

  const grpo::EvalResult first = evaluate_model(args.model, source.problems, template_name, options);
  if (out.is_open()) write_per_problem(out, first, args.compare.empty() ? "" : args.model);
  if (args.compare.empty()) {
    std::cout << describe(first, args.model).dump(2) << std::endl;
    return 0;
  }
  const grpo::EvalResult second = evaluate_model(args.compare, source.problems, template_name, options);
  if (out.is_open()) write_per_problem(out, second, args.compare);
  const nlohmann::json before = describe(first, args.model), after = describe(second, args.compare);
  std::cerr << "before: " << args.model << "\nafter:  " << args.compare << "\n" << comparison_table(first, before, after);
  std::cout << nlohmann::json{{"before", before}, {"after", after}}.dump(2) << std::endl;
  return 0;
}

}  // namespace aha::cli
