// `aha eval` (see eval.h): checks the options, takes the problems and the verifier from eval/sources.h,
// generates or reads the completions and grades them (eval/evaluate.h), prints the summary JSON on stdout
// (with --compare, a before/after table on stderr) and the per-problem JSONL to --out (eval/report.h).
#include "cli/eval.h"

#include <fstream>
#include <iostream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "datasets/template.h"
#include "eval/evaluate.h"
#include "eval/report.h"

namespace aha::cli {
namespace {

std::ofstream open_out(const std::string& file) {
  std::ofstream out(file);
  if (!out) throw std::runtime_error(file + ": cannot write");
  return out;
}

int eval_responses(const EvalArgs& args) {
  if (!args.model.empty() || !args.compare.empty())
    throw std::invalid_argument("--responses: grades completions made elsewhere; leave out --model and --compare");
  if (args.task.empty() == args.benchmark.empty())
    throw std::invalid_argument("--responses needs the verifier: --task math|gsm8k|integer|code|arith or --benchmark NAME");
  const eval::EvalOptions options =
      eval::scoring_options(eval::verifier_for(args.task.empty() ? args.benchmark : args.task), args.workers);
  eval::Responses responses = eval::read_responses(args.responses);
  const eval::EvalResult result = eval::score_cases(std::move(responses.cases), options, responses.length_unit);
  if (!args.out.empty()) {
    std::ofstream out = open_out(args.out);
    eval::write_per_problem(out, result, "");
  }
  nlohmann::json summary = result.summary();
  summary["responses"] = args.responses;
  std::cout << summary.dump(2) << std::endl;
  return 0;
}

}  // namespace

int cmd_eval(const EvalArgs& args) {
  if (!args.responses.empty()) return eval_responses(args);
  if (args.model.empty()) throw std::invalid_argument("eval: --model DIR is required (or --responses FILE)");
  if (args.task.empty() + args.benchmark.empty() + args.source.empty() != 2)
    throw std::invalid_argument(
        "eval: give exactly one of --task arith, --benchmark gsm8k|math500|aime24|amc23|humaneval or --source SPEC");
  if (!args.verifier.empty() && args.source.empty()) throw std::invalid_argument("--verifier: only with --source");
  if (!args.data.empty() && args.benchmark.empty()) throw std::invalid_argument("--data: only with --benchmark");
  if (!args.task.empty() && args.problems && *args.problems < 1)
    throw std::invalid_argument("--problems: expected >= 1 with --task (0 means all only for a benchmark), " +
                                std::string("got ") + std::to_string(*args.problems));
  const eval::ProblemSource source =
      !args.source.empty() ? eval::data_source(args.source, args.verifier, args.problems, args.seed)
      : args.task.empty()  ? eval::benchmark_source(args.benchmark, args.data,
                                                    args.problems.value_or(eval::BenchmarkDefaults::problems))
                           : eval::task_source(args.task, args.split, args.problems, args.seed);
  const std::string template_name = args.template_name.value_or(source.template_name);
  if (template_name != "chat") datasets::resolve_template(template_name);  // a bad template fails before loading
  eval::EvalOptions options = eval::scoring_options(source.verifier, args.workers);
  options.samples = args.samples;
  options.seed = args.seed;
  options.prompts_per_batch = args.batch;
  options.generation.max_new_tokens = args.max_new_tokens.value_or(source.max_new_tokens);
  options.generation.sampling = {args.temperature.value_or(source.temperature), args.top_p.value_or(source.top_p), 0};
  options.generation.stop_strings = args.stop;

  auto describe = [&](const eval::EvalResult& result, const std::string& model) {
    return eval::describe_run(result, model, source.description, template_name, options);
  };
  std::ofstream out;
  if (!args.out.empty()) out = open_out(args.out);

  const eval::EvalResult first = eval::evaluate_model(args.model, source.problems, template_name, options, policy::parse_load_options(args.device, args.dtype));
  if (out.is_open()) eval::write_per_problem(out, first, args.compare.empty() ? "" : args.model);
  if (args.compare.empty()) {
    std::cout << describe(first, args.model).dump(2) << std::endl;
    return 0;
  }
  const eval::EvalResult second = eval::evaluate_model(args.compare, source.problems, template_name, options, policy::parse_load_options(args.device, args.dtype));
  if (out.is_open()) eval::write_per_problem(out, second, args.compare);
  const nlohmann::json before = describe(first, args.model), after = describe(second, args.compare);
  std::cerr << "before: " << args.model << "\nafter:  " << args.compare << "\n"
            << eval::comparison_table(first, before, after);
  std::cout << nlohmann::json{{"before", before}, {"after", after}}.dump(2) << std::endl;
  return 0;
}

}  // namespace aha::cli
