// Run config JSON <-> structs; see run_config.h.
#include "grpo/run_config.h"

#include <cmath>
#include <fstream>
#include <set>
#include <stdexcept>

#include "common/json_fields.h"
#include "rewards/rubric.h"

namespace aha::grpo {

nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(file.string() + ": invalid JSON: " + e.what());
  }
}

std::vector<std::string> grpo_presets() {
  return {"grpo", "dapo", "dr_grpo"};
}

void apply_grpo_preset(GrpoSection& g, int64_t max_new_tokens) {
  PolicyLossConfig& loss = g.loss;
  loss.kl_estimator = KlEstimator::K3;
  loss.kl_in_loss = true;
  loss.clip_low = 0.2;
  loss.clip_high = 0.2;
  loss.sum_norm = static_cast<double>(max_new_tokens);
  if (g.preset == "grpo") {
    g.scale_rewards = ScaleRewards::Group;
    loss.aggregation = Aggregation::SeqMeanTokenMean;
    loss.beta = 0.001;
  } else if (g.preset == "dapo") {
    g.scale_rewards = ScaleRewards::Group;
    loss.aggregation = Aggregation::TokenMean;
    loss.beta = 0.0;
    loss.clip_high = 0.28;
    g.dynamic_sampling = true;
    g.overlong_buffer = max_new_tokens / 4;
  } else if (g.preset == "dr_grpo") {
    g.scale_rewards = ScaleRewards::None;
    loss.aggregation = Aggregation::SeqMeanTokenSumNorm;
    loss.beta = 0.0;
  } else {
    std::string list;
    for (const auto& p : grpo_presets()) list += (list.empty() ? "" : ", ") + p;
    throw std::invalid_argument("unknown preset \"" + g.preset + "\"; allowed: " + list);
  }
}

bool GrpoSection::parse_kl_placement(const std::string& name) {
  if (name == "loss") return true;
  if (name == "reward") return false;
  throw std::invalid_argument("\"" + name + "\"; allowed: loss, reward");
}

// data.train / data.eval as source lists (the short form expanded), written back resolved.
void resolve_sources(RunConfig& c, const nlohmann::json& data, const std::string& where);

RunConfig run_config_from_json(const nlohmann::json& j, const std::string& where) {
  RunConfig c;
  nlohmann::json model = nlohmann::json::object(), data = model, rollout = model, rewards_j = model,
                 grpo = model, train = model;
  common::FieldReader sections(j, where);
  sections("model", model);
  sections("data", data);
  sections("rollout", rollout);
  sections("rewards", rewards_j);
  sections("grpo", grpo);
  sections("train", train);
  sections("overrides", c.overrides);
  sections.finish();
  common::read_section(model, where + ": model", c.model);
  common::read_section(data, where + ": data", c.data);
  common::read_section(rollout, where + ": rollout", c.rollout);
  nlohmann::json rules = nlohmann::json::array({{{"name", "accuracy"}, {"weight", 1.0}}});
  nlohmann::json by_source = nlohmann::json::object();
  common::FieldReader rewards_fields(rewards_j, where + ": rewards");
  rewards_fields("rules", rules);
  rewards_fields("by_source", by_source);
  rewards_fields.finish();
  c.rewards = rewards::parse_rules(rules, where + ": rewards.rules");
  if (!by_source.is_object())
    throw std::invalid_argument(where + ": rewards.by_source: expected {\"<data source>\": [rules], ...}, got " +
                                by_source.dump());
  for (const auto& [source, list] : by_source.items())
    c.rewards_by_source[source] = rewards::parse_rules(list, where + ": rewards.by_source." + source);
  // The preset first (it sets several fields and depends on max_new_tokens), then every field written
  // next to it wins.
  if (auto it = grpo.find("preset"); it != grpo.end()) {
    if (!it->is_string())
      throw std::invalid_argument(where + ": grpo.preset: expected a string, got " + it->dump());
    c.grpo.preset = it->get<std::string>();
  }
  try {
    apply_grpo_preset(c.grpo, c.rollout.max_new_tokens);
  } catch (const std::exception& e) {
    throw std::invalid_argument(where + ": grpo.preset: " + e.what());
  }
  common::read_section(grpo, where + ": grpo", c.grpo);
  common::read_section(train, where + ": train", c.train);
  resolve_sources(c, data, where);
  for (const auto& o : c.overrides)
    if (!o.is_object() || !o.contains("from_step") || !o["from_step"].is_number_integer() ||
        !o.contains("set") || !o["set"].is_array())
      throw std::invalid_argument(
          where + ": overrides: expected [{\"from_step\": N, \"set\": [\"section.key=value\", ...]}], got " +
          c.overrides.dump());
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(where + ": " + e.what());
  }
  return c;
}

namespace {

// Sizes past these are a typo, not a run: they would fail late, in the allocator, without naming the key.
constexpr int64_t kMaxCompletionsPerStep = 1 << 16;  // prompts_per_step × group_size
constexpr int64_t kMaxNewTokens = 1 << 20;
constexpr int64_t kMaxEvalProblems = 1 << 20;
constexpr int64_t kMaxEvalSamples = 1 << 12;
constexpr int64_t kMaxThreads = 1 << 12;

bool finite(double x) {
  return std::isfinite(x);
}

bool is_plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos && name.size() <= 255;
}

}  // namespace

void resolve_sources(RunConfig& c, const nlohmann::json& data, const std::string& where) {
  DataSection& d = c.data;
  if (d.train.is_null()) {  // the short form: one generator and its test split
    d.train = nlohmann::json::array({{{"generator", d.task}, {"options", d.options}, {"size", d.train_size}}});
    if (d.eval.is_null())
      d.eval = nlohmann::json::array(
          {{{"generator", d.task}, {"options", d.options}, {"split", "test"}, {"size", c.train.eval_problems}}});
  } else {
    for (const char* key : {"task", "options", "train_size"})
      if (data.contains(key))
        throw std::invalid_argument(where + ": data." + key +
                                    ": the short form of data.train; give the generator's settings in "
                                    "data.train instead ({\"generator\": ..., \"options\": ..., \"size\": ...})");
  }
  c.train_sources = datasets::parse_sources(d.train, where + ": data.train");
  c.eval_sources.clear();
  if (!d.eval.is_null()) c.eval_sources = datasets::parse_sources(d.eval, where + ": data.eval");
  std::set<std::string> eval_names;
  for (auto& s : c.eval_sources) {
    if (s.kind == datasets::SourceKind::Generator && s.size == 0) s.size = c.train.eval_problems;
    if (!eval_names.insert(s.name).second)
      throw std::invalid_argument(where + ": data.eval: two sources are named \"" + s.name +
                                  "\"; give each a \"name\" (metrics are logged as eval/<name>/...)");
  }
  nlohmann::json train_list = nlohmann::json::array(), eval_list = nlohmann::json::array();
  for (const auto& s : c.train_sources) train_list.push_back(s.to_json());
  for (const auto& s : c.eval_sources) eval_list.push_back(s.to_json());
  d.train = train_list;
  d.eval = eval_list;
}

void RunConfig::validate() const {
  auto require = [](bool ok, const std::string& msg) {
    if (!ok) throw std::invalid_argument(msg);
  };
  require(!model.path.empty(), "model.path: required (an HF-layout directory)");
  require(model.device == "cpu" || model.device == "cuda", "model.device: expected \"cpu\" or \"cuda\"");
  require(model.dtype.empty() || model.dtype == "float32" || model.dtype == "bfloat16",
          "model.dtype: '" + model.dtype +
              "' is not supported; expected \"float32\" or \"bfloat16\" (float16 would need loss scaling), "
              "or leave it out for the checkpoint's own dtype");
  require(model.attention == "sdpa" || model.attention == "eager",
          "model.attention: '" + model.attention + "' is not supported; expected \"sdpa\" or \"eager\"");
  require(data.train_size >= 0, "data.train_size: must be >= 0 (0: a fresh problem every draw)");
  require(data.max_prompt_length >= 0, "data.max_prompt_length: must be >= 0 (0: no limit)");
  require(rollout.prompts_per_step >= 1, "rollout.prompts_per_step: must be >= 1");
  require(rollout.group_size >= 2,
          "rollout.group_size: must be >= 2 (GRPO compares completions within a group)");
  require(rollout.prompts_per_step <= kMaxCompletionsPerStep / rollout.group_size,
          "rollout.prompts_per_step × rollout.group_size: must be <= " +
              std::to_string(kMaxCompletionsPerStep) + " completions per step");
  require(rollout.max_new_tokens >= 1 && rollout.max_new_tokens <= kMaxNewTokens,
          "rollout.max_new_tokens: must be in [1, " + std::to_string(kMaxNewTokens) + "]");
  require(finite(rollout.temperature) && rollout.temperature > 0,
          "rollout.temperature: must be > 0 and finite for training (log-probs divide by it)");
  require(rollout.top_p > 0 && rollout.top_p <= 1, "rollout.top_p: must be in (0, 1]");
  require(rollout.top_k >= 0, "rollout.top_k: must be >= 0");
  grpo.loss.validate();
  require(finite(grpo.loss.beta) && finite(grpo.loss.clip_high) && finite(grpo.loss.dual_clip) &&
              finite(grpo.loss.entropy_coef) && finite(grpo.loss.tis_cap) && finite(grpo.loss.sum_norm),
          "grpo: beta, clip_high, dual_clip, entropy_coef, tis_cap and sum_norm must be finite");
  require(finite(grpo.advantage_eps) && grpo.advantage_eps >= 0,
          "grpo.advantage_eps: must be >= 0 and finite");
  require(grpo.mu >= 1 && grpo.mu <= 1024, "grpo.mu: must be in [1, 1024]");
  require(grpo.minibatches >= 1, "grpo.minibatches: must be >= 1");
  const int64_t batch = rollout.prompts_per_step * rollout.group_size;
  require(batch % grpo.minibatches == 0,
          "grpo.minibatches: must divide prompts_per_step * group_size = " + std::to_string(batch));
  require(grpo.micro_batch_size >= 0, "grpo.micro_batch_size: must be >= 0 (0: one forward per minibatch)");
  require(train.micro_batch_tokens >= 0, "train.micro_batch_tokens: must be >= 0 (0: grpo.micro_batch_size rows)");
  require(grpo.max_sampling_rounds >= 1 && grpo.max_sampling_rounds <= 1024,
          "grpo.max_sampling_rounds: must be in [1, 1024]");
  require(grpo.overlong_buffer >= 0 && grpo.overlong_buffer <= rollout.max_new_tokens,
          "grpo.overlong_buffer: must be in [0, rollout.max_new_tokens]");
  require(finite(grpo.overlong_penalty) && grpo.overlong_penalty >= 0,
          "grpo.overlong_penalty: must be >= 0 and finite");
  require(grpo.ref_refresh_steps >= 0, "grpo.ref_refresh_steps: must be >= 0 (0: never)");
  require(
      grpo.loss.tis_cap == 0 || grpo.recompute_old_logprobs,
      "grpo.tis_cap: needs grpo.recompute_old_logprobs = true (the IS weight compares the trainer's pi_old "
      "with the rollout's log-probs)");
  require(
      !grpo.router_replay || rollout.record_routes,
      "grpo.router_replay: needs rollout.record_routes = true (replay uses the routes the rollout recorded)");
  require(finite(grpo.bias_update_gamma) && grpo.bias_update_gamma >= 0,
          "grpo.bias_update_gamma: must be >= 0 and finite");
  require(train.steps >= 1, "train.steps: must be >= 1");
  require(finite(train.lr) && train.lr > 0, "train.lr: must be > 0 and finite");
  require(train.warmup_steps >= 0, "train.warmup_steps: must be >= 0");
  require(train.min_lr_ratio >= 0 && train.min_lr_ratio <= 1, "train.min_lr_ratio: must be in [0, 1]");
  require(finite(train.weight_decay) && train.weight_decay >= 0,
          "train.weight_decay: must be >= 0 and finite");
  require(train.adam_beta1 >= 0 && train.adam_beta1 < 1, "train.adam_beta1: must be in [0, 1)");
  require(train.adam_beta2 >= 0 && train.adam_beta2 < 1, "train.adam_beta2: must be in [0, 1)");
  require(finite(train.max_grad_norm) && train.max_grad_norm >= 0,
          "train.max_grad_norm: must be >= 0 and finite (0 disables clipping)");
  require(train.samples_per_step >= 0, "train.samples_per_step: must be >= 0");
  require(train.eval_problems >= 0 && train.eval_problems <= kMaxEvalProblems,
          "train.eval_problems: must be in [0, " + std::to_string(kMaxEvalProblems) + "]");
  require(train.eval_samples >= 1 && train.eval_samples <= kMaxEvalSamples,
          "train.eval_samples: must be in [1, " + std::to_string(kMaxEvalSamples) + "]");
  require(finite(train.eval_temperature) && train.eval_temperature >= 0,
          "train.eval_temperature: must be >= 0 (0: greedy) and finite");
  require(train.eval_top_p > 0 && train.eval_top_p <= 1, "train.eval_top_p: must be in (0, 1]");
  require(train.eval_every >= 0, "train.eval_every: must be >= 0");
  require(train.threads >= 0 && train.threads <= kMaxThreads,
          "train.threads: must be in [0, " + std::to_string(kMaxThreads) + "] (0: torch's default)");
  require(train.save_every >= 0, "train.save_every: must be >= 0 (0: only on SIGINT/SIGTERM)");
  require(train.keep_checkpoints >= 1, "train.keep_checkpoints: must be >= 1");
  require(train.max_bad_steps >= 1, "train.max_bad_steps: must be >= 1");
  require(is_plain_name(train.run_name), "train.run_name: \"" + train.run_name +
                                             "\" must be one plain directory name (not empty, \".\" or "
                                             "\"..\", no '/')");
  require(!train.output_dir.empty(), "train.output_dir: must not be empty");
}

nlohmann::json RunConfig::to_json() const {
  auto rule_list = [](const std::vector<rewards::RuleSpec>& specs) {
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& r : specs) rules.push_back({{"name", r.name}, {"weight", r.weight}, {"options", r.options}});
    return rules;
  };
  nlohmann::json rewards_j = {{"rules", rule_list(rewards)}};
  for (const auto& [source, specs] : rewards_by_source) rewards_j["by_source"][source] = rule_list(specs);
  nlohmann::json data_j = common::write_section(data);
  for (const char* key : {"task", "options", "train_size"}) data_j.erase(key);  // written out in data.train
  nlohmann::json j = {{"model", common::write_section(model)},     {"data", data_j},
                      {"rollout", common::write_section(rollout)}, {"rewards", rewards_j},
                      {"grpo", common::write_section(grpo)},       {"train", common::write_section(train)}};
  if (!overrides.empty()) j["overrides"] = overrides;
  return j;
}

rollout::GenerationConfig RunConfig::generation() const {
  rollout::GenerationConfig g;
  g.max_new_tokens = rollout.max_new_tokens;
  g.sampling = {rollout.temperature, rollout.top_p, rollout.top_k};
  g.stop_strings = rollout.stop;
  g.record_routes = rollout.record_routes;
  return g;
}

RunConfig load_run_config(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  auto j = read_json_file(file);
  for (const auto& o : overrides) common::apply_override(j, o);
  return run_config_from_json(j, file.string());
}

}  // namespace aha::grpo
