// Held-out evaluation; see evaluate.h.
#include "eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <stdexcept>

#include "datasets/template.h"
#include "eval/metrics.h"
#include "policy/chat_prompt.h"
#include "policy/checkpoint.h"
#include "policy/eos.h"
#include "rewards/answer_key.h"
#include "rewards/rubric.h"
#include "rollout/seeds.h"

namespace aha::eval {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::vector<rewards::RuleSpec> eval_rule_specs(const std::string& verifier,
                                               const std::vector<rewards::RuleSpec>& rules) {
  std::vector<rewards::RuleSpec> out{{verifier, 1.0, nullptr}, {"format", 1.0, nullptr}};
  for (auto& spec : out)
    for (const auto& r : rules)
      if (r.name == spec.name) spec.options = r.options;
  return out;
}

EvalOptions scoring_options(const std::string& verifier, int workers) {
  EvalOptions options;
  options.verifier = verifier;
  options.workers = workers;
  if (verifier == "code") options.rules = {{"code", 1.0, {{"workers", workers}}}};
  return options;
}

nlohmann::json EvalProblemResult::to_json() const {
  nlohmann::json responses = nlohmann::json::array(), correct_flags = nlohmann::json::array(),
                 scores = nlohmann::json::array(), formats = nlohmann::json::array(),
                 canonical = nlohmann::json::array(), lengths = nlohmann::json::array(),
                 finish = nlohmann::json::array();
  for (const EvalSample& s : samples) {
    responses.push_back(s.text);
    correct_flags.push_back(s.correct);
    scores.push_back(s.score);
    formats.push_back(s.format);
    canonical.push_back(s.answer ? nlohmann::json(*s.answer) : nlohmann::json(nullptr));
    lengths.push_back(s.length);
    finish.push_back(s.finish_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.finish_reason));
  }
  nlohmann::json j = {{"id", id},           {"answer", answer},         {"responses", responses},
                      {"correct", correct_flags}, {"score", scores},          {"format", formats},
                      {"canonical", canonical}, {"length", lengths},     {"finish_reason", finish}};
  for (const auto& [k, value] : pass_at) j["pass@" + std::to_string(k)] = value;
  j["majority_answer"] = majority_answer ? nlohmann::json(*majority_answer) : nlohmann::json(nullptr);
  j["majority_votes"] = majority_votes;
  j["majority_correct"] = majority_correct;
  if (!error.empty()) j["error"] = error;
  return j;
}

nlohmann::json EvalResult::summary() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [kk, value] : pass_at) j["pass@" + std::to_string(kk)] = value;
  if (maj_at_k) j["maj@" + std::to_string(k)] = *maj_at_k;
  j["format_rate"] = format_rate;
  j["truncation_rate"] = truncation_rate ? nlohmann::json(*truncation_rate) : nlohmann::json(nullptr);
  j["mean_length"] = mean_length;
  j["min_length"] = min_length;
  j["max_length"] = max_length;
  j["length_unit"] = length_unit;
  j["problems"] = problems;
  j["k"] = k;
  j["samples"] = samples;
  j["verifier"] = verifier;
  j["seconds"] = seconds;
  if (generated_tokens > 0)
    j["tokens_per_second"] = generation_seconds > 0 ? generated_tokens / generation_seconds : 0.0;
  return j;
}

EvalResult score_cases(std::vector<EvalCase> cases, const EvalOptions& options, const std::string& length_unit) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<rewards::RuleSpec> specs = eval_rule_specs(options.verifier, options.rules);
  const rewards::Rubric rubric(specs);
  const std::unique_ptr<rewards::AnswerKey> key = rewards::make_answer_key(specs[0]);

  EvalResult result;
  result.verifier = options.verifier;
  result.length_unit = length_unit;
  result.problems = static_cast<int64_t>(cases.size());
  result.k = cases.empty() ? 0 : static_cast<int64_t>(cases[0].samples.size());
  for (const EvalCase& c : cases)
    if (static_cast<int64_t>(c.samples.size()) != result.k || result.k < 1)
      throw std::invalid_argument("evaluation: problem '" + c.id + "' has " + std::to_string(c.samples.size()) +
                                  " completions; expected " + std::to_string(std::max<int64_t>(result.k, 1)) +
                                  " like every problem (the first has " + std::to_string(result.k) + ")");
  result.samples = result.problems * result.k;

  std::vector<rewards::RewardInput> inputs;  // problem-major, as the samples
  inputs.reserve(result.samples);
  for (const EvalCase& c : cases)
    for (const EvalSample& s : c.samples) inputs.push_back({c.prompt, s.text, c.answer, c.row.get()});
  const std::vector<rewards::RubricResult> graded = rubric.score_batch(inputs, options.workers);

  const std::vector<int64_t> ladder = pass_at_k_ladder(result.k);
  std::vector<double> pass_sums(ladder.size(), 0.0);
  double format_sum = 0, length_sum = 0, majority_sum = 0;
  int64_t truncated = 0, finish_known = 0;
  result.min_length = result.samples > 0 ? std::numeric_limits<double>::infinity() : 0;
  size_t next = 0;
  for (EvalCase& c : cases) {
    EvalProblemResult pr{c.id, c.answer, std::move(c.samples), 0, {}, std::nullopt, 0, false, ""};
    std::vector<std::optional<std::string>> answers;
    for (EvalSample& s : pr.samples) {
      const rewards::RubricResult& r = graded[next++];
      s.score = r.rules[0].second;
      s.format = r.rules[1].second;
      s.correct = s.score >= 1.0;
      if (key) s.answer = key->canonical(s.text);
      answers.push_back(s.answer);
      if (!r.error.empty() && pr.error.empty()) pr.error = r.error;
      pr.correct += s.correct;
      format_sum += s.format;
      length_sum += static_cast<double>(s.length);
      result.min_length = std::min(result.min_length, static_cast<double>(s.length));
      result.max_length = std::max(result.max_length, static_cast<double>(s.length));
      if (!s.finish_reason.empty()) {
        ++finish_known;
        truncated += s.finish_reason == "length";
      }
    }
    for (size_t i = 0; i < ladder.size(); ++i) {
      pr.pass_at.emplace_back(ladder[i], pass_at_k(result.k, pr.correct, ladder[i]));
      pass_sums[i] += pr.pass_at.back().second;
    }
    if (key) {
      const MajorityVote vote = majority_vote(answers, [&](const std::string& representative, const std::string& other) {
        return key->same(representative, other);
      });
      if (vote.winner) {
        pr.majority_answer = pr.samples[*vote.winner].answer;
        pr.majority_votes = vote.votes;
        pr.majority_correct = pr.samples[*vote.winner].correct;
      }
      majority_sum += pr.majority_correct;
    }
    result.per_problem.push_back(std::move(pr));
  }

  if (result.problems > 0) {
    for (size_t i = 0; i < ladder.size(); ++i) result.pass_at.emplace_back(ladder[i], pass_sums[i] / result.problems);
    result.pass_at_1 = result.pass_at.front().second;
    if (key) result.maj_at_k = majority_sum / result.problems;
    result.format_rate = format_sum / result.samples;
    result.mean_length = length_sum / result.samples;
  }
  if (finish_known > 0) result.truncation_rate = static_cast<double>(truncated) / finish_known;
  result.seconds = seconds_since(start);
  return result;
}

EvalResult evaluate_prompts(rollout::Engine& engine, const std::vector<datasets::Problem>& problems,
                            const std::vector<std::string>& prompts, const EvalOptions& options) {
  if (prompts.size() != problems.size())
    throw std::invalid_argument("evaluation: " + std::to_string(prompts.size()) + " prompts for " +
                                std::to_string(problems.size()) + " problems");
  if (options.samples < 1)
    throw std::invalid_argument("evaluation: samples per problem must be >= 1, got " + std::to_string(options.samples));
  const auto start = std::chrono::steady_clock::now();
  const int64_t k = options.samples;
  std::vector<EvalCase> cases;
  int64_t tokens = 0;
  for (size_t begin = 0; begin < problems.size(); begin += options.prompts_per_batch) {
    const size_t end = std::min(problems.size(), begin + static_cast<size_t>(options.prompts_per_batch));
    const std::vector<std::string> batch(prompts.begin() + begin, prompts.begin() + end);
    std::vector<uint64_t> seeds;
    for (size_t i = begin; i < end; ++i)
      for (int64_t s = 0; s < k; ++s) seeds.push_back(rollout::sample_seed(options.seed, i, s));
    const rollout::RolloutResult rollout = engine.generate(batch, k, options.generation, seeds);
    for (size_t i = begin; i < end; ++i) {
      EvalCase c{problems[i].id, prompts[i], problems[i].answer, {}, problems[i].row};
      for (int64_t s = 0; s < k; ++s) {
        const rollout::Completion& completion = rollout.completions[(i - begin) * k + s];
        EvalSample sample;
        sample.text = completion.text;
        sample.finish_reason = rollout::to_string(completion.finish_reason);
        sample.length = static_cast<int64_t>(completion.token_ids.size());
        c.samples.push_back(std::move(sample));
      }
      cases.push_back(std::move(c));
    }
    tokens += rollout.generated_tokens;
  }
  const double generation_seconds = seconds_since(start);
  EvalResult result = score_cases(std::move(cases), options, "tokens");
  result.generated_tokens = tokens;
  result.generation_seconds = generation_seconds;
  result.seconds = seconds_since(start);
  return result;
}

EvalResult evaluate(rollout::Engine& engine, const std::vector<datasets::Problem>& problems,
                    const std::string& template_text, const EvalOptions& options) {
  std::vector<std::string> prompts;
  for (const datasets::Problem& p : problems) prompts.push_back(datasets::render_prompt(template_text, p));
  return evaluate_prompts(engine, problems, prompts, options);
}

std::vector<std::string> render_prompts(const policy::PromptRenderer& renderer,
                                        const std::vector<datasets::Problem>& problems) {
  std::vector<std::string> prompts;
  for (const datasets::Problem& p : problems) prompts.push_back(renderer.text(p));
  return prompts;
}

EvalResult evaluate_model(const std::string& model_dir, const std::vector<datasets::Problem>& problems,
                          const std::string& template_name, const EvalOptions& options,
                          const policy::LoadOptions& load) {
  policy::LoadedPolicy loaded = policy::load_policy(model_dir, load);
  const policy::PromptRenderer renderer(model_dir, loaded.tokenizer, template_name);
  rollout::Engine engine(loaded.model, loaded.tokenizer, policy::resolve_eos_token(loaded));
  engine.set_prompt_encoder([&](const std::string& text) { return renderer.encode(text); });
  return evaluate_prompts(engine, problems, render_prompts(renderer, problems), options);
}

}  // namespace aha::eval
