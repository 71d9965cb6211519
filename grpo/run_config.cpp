// Run config JSON <-> structs; see run_config.h.
#include "grpo/run_config.h"

#include <fstream>
#include <stdexcept>

#include "grpo/json_fields.h"
#include "rewards/rubric.h"

namespace aha::grpo {

void apply_override(nlohmann::json& config, const std::string& assignment) {
  auto eq = assignment.find('=');
  auto dot = assignment.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq)
    throw std::invalid_argument("--set " + assignment + ": expected section.key=value");
  std::string section = assignment.substr(0, dot), key = assignment.substr(dot + 1, eq - dot - 1);
  std::string text = assignment.substr(eq + 1);
  if (!config.is_object()) throw std::invalid_argument("--set " + assignment + ": the config is not a JSON object");
  if (config.contains(section) && !config[section].is_object())
    throw std::invalid_argument("--set " + assignment + ": '" + section + "' is not a section");
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;
  config[section][key] = value;
}

nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(file.string() + ": invalid JSON: " + e.what());
  }
}

std::vector<std::string> grpo_presets() { return {"grpo", "dapo", "dr_grpo"}; }

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

RunConfig run_config_from_json(const nlohmann::json& j, const std::string& where) {
  RunConfig c;
  nlohmann::json model = nlohmann::json::object(), data = model, rollout = model, rewards_j = model, grpo = model,
                 train = model;
  JsonFields(j, where)
      .field("model", model)
      .field("data", data)
      .field("rollout", rollout)
      .field("rewards", rewards_j)
      .field("grpo", grpo)
      .field("train", train)
      .finish();
  JsonFields(model, where + ": model").field("path", c.model.path).field("device", c.model.device).finish();
  JsonFields(data, where + ": data")
      .field("task", c.data.task)
      .field("options", c.data.options)
      .field("template", c.data.template_name)
      .field("seed", c.data.seed)
      .field("eval_seed", c.data.eval_seed)
      .field("train_size", c.data.train_size)
      .finish();
  JsonFields(rollout, where + ": rollout")
      .field("prompts_per_step", c.rollout.prompts_per_step)
      .field("group_size", c.rollout.group_size)
      .field("max_new_tokens", c.rollout.max_new_tokens)
      .field("temperature", c.rollout.temperature)
      .field("top_p", c.rollout.top_p)
      .field("top_k", c.rollout.top_k)
      .field("stop", c.rollout.stop)
      .field("record_routes", c.rollout.record_routes)
      .finish();
  nlohmann::json rules = nlohmann::json::array({{{"name", "accuracy"}, {"weight", 1.0}}});
  JsonFields(rewards_j, where + ": rewards").field("rules", rules).finish();
  c.rewards = rewards::parse_rules(rules, where + ": rewards.rules");
  if (auto it = grpo.find("preset"); it != grpo.end()) {
    if (!it->is_string()) throw std::invalid_argument(where + ": grpo.preset: expected a string, got " + it->dump());
    c.grpo.preset = it->get<std::string>();
  }
  try {
    apply_grpo_preset(c.grpo, c.rollout.max_new_tokens);
  } catch (const std::exception& e) {
    throw std::invalid_argument(where + ": grpo.preset: " + e.what());
  }
  std::string aggregation = to_string(c.grpo.loss.aggregation), ratio_level = to_string(c.grpo.loss.ratio_level),
              kl_estimator = to_string(c.grpo.loss.kl_estimator), scale_rewards = to_string(c.grpo.scale_rewards),
              kl_placement = c.grpo.loss.kl_in_loss ? "loss" : "reward";
  JsonFields(grpo, where + ": grpo")
      .field("preset", c.grpo.preset)
      .field("beta", c.grpo.loss.beta)
      .field("kl_estimator", kl_estimator)
      .field("kl_placement", kl_placement)
      .field("clip_low", c.grpo.loss.clip_low)
      .field("clip_high", c.grpo.loss.clip_high)
      .field("dual_clip", c.grpo.loss.dual_clip)
      .field("ratio_level", ratio_level)
      .field("entropy_coef", c.grpo.loss.entropy_coef)
      .field("tis_cap", c.grpo.loss.tis_cap)
      .field("max_log_ratio", c.grpo.loss.max_log_ratio)
      .field("aggregation", aggregation)
      .field("sum_norm", c.grpo.loss.sum_norm)
      .field("scale_rewards", scale_rewards)
      .field("advantage_eps", c.grpo.advantage_eps)
      .field("mu", c.grpo.mu)
      .field("minibatches", c.grpo.minibatches)
      .field("micro_batch_size", c.grpo.micro_batch_size)
      .field("recompute_old_logprobs", c.grpo.recompute_old_logprobs)
      .field("dynamic_sampling", c.grpo.dynamic_sampling)
      .field("max_sampling_rounds", c.grpo.max_sampling_rounds)
      .field("overlong_buffer", c.grpo.overlong_buffer)
      .field("overlong_penalty", c.grpo.overlong_penalty)
      .field("ref_refresh_steps", c.grpo.ref_refresh_steps)
      .field("router_replay", c.grpo.router_replay)
      .field("bias_update_gamma", c.grpo.bias_update_gamma)
      .finish();
  const auto parse_enum_field = [&](const char* key, auto parse, const std::string& text) {
    try {
      return parse(text);
    } catch (const std::exception& e) {
      throw std::invalid_argument(where + ": grpo." + key + ": " + e.what());
    }
  };
  c.grpo.loss.aggregation = parse_enum_field("aggregation", parse_aggregation, aggregation);
  c.grpo.loss.ratio_level = parse_enum_field("ratio_level", parse_ratio_level, ratio_level);
  c.grpo.loss.kl_estimator = parse_enum_field("kl_estimator", parse_kl_estimator, kl_estimator);
  c.grpo.scale_rewards = parse_enum_field("scale_rewards", parse_scale_rewards, scale_rewards);
  if (kl_placement != "loss" && kl_placement != "reward")
    throw std::invalid_argument(where + ": grpo.kl_placement: \"" + kl_placement + "\"; allowed: loss, reward");
  c.grpo.loss.kl_in_loss = kl_placement == "loss";
  JsonFields(train, where + ": train")
      .field("run_name", c.train.run_name)
      .field("output_dir", c.train.output_dir)
      .field("steps", c.train.steps)
      .field("lr", c.train.lr)
      .field("warmup_steps", c.train.warmup_steps)
      .field("min_lr_ratio", c.train.min_lr_ratio)
      .field("weight_decay", c.train.weight_decay)
      .field("adam_beta1", c.train.adam_beta1)
      .field("adam_beta2", c.train.adam_beta2)
      .field("max_grad_norm", c.train.max_grad_norm)
      .field("seed", c.train.seed)
      .field("samples_per_step", c.train.samples_per_step)
      .field("eval_problems", c.train.eval_problems)
      .field("eval_samples", c.train.eval_samples)
      .field("eval_temperature", c.train.eval_temperature)
      .field("eval_top_p", c.train.eval_top_p)
      .field("eval_every", c.train.eval_every)
      .field("threads", c.train.threads)
      .field("save_every", c.train.save_every)
      .field("keep_checkpoints", c.train.keep_checkpoints)
      .field("max_bad_steps", c.train.max_bad_steps)
      .finish();
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(where + ": " + e.what());
  }
  return c;
}

void RunConfig::validate() const {
  auto require = [](bool ok, const std::string& msg) {
    if (!ok) throw std::invalid_argument(msg);
  };
  require(!model.path.empty(), "model.path: required (an HF-layout directory)");
  require(model.device == "cpu" || model.device == "cuda", "model.device: expected \"cpu\" or \"cuda\"");
  require(rollout.prompts_per_step >= 1, "rollout.prompts_per_step: must be >= 1");
  require(rollout.group_size >= 2, "rollout.group_size: must be >= 2 (GRPO compares completions within a group)");
  require(rollout.max_new_tokens >= 1, "rollout.max_new_tokens: must be >= 1");
  require(rollout.temperature > 0, "rollout.temperature: must be > 0 for training (log-probs divide by it)");
  require(rollout.top_p > 0 && rollout.top_p <= 1, "rollout.top_p: must be in (0, 1]");
  require(rollout.top_k >= 0, "rollout.top_k: must be >= 0");
  grpo.loss.validate();
  require(grpo.mu >= 1, "grpo.mu: must be >= 1");
  require(grpo.minibatches >= 1, "grpo.minibatches: must be >= 1");
  const int64_t batch = rollout.prompts_per_step * rollout.group_size;
  require(batch % grpo.minibatches == 0, "grpo.minibatches: must divide prompts_per_step * group_size = " +
                                             std::to_string(batch));
  require(grpo.micro_batch_size >= 0, "grpo.micro_batch_size: must be >= 0 (0: one forward per minibatch)");
  require(grpo.max_sampling_rounds >= 1, "grpo.max_sampling_rounds: must be >= 1");
  require(grpo.overlong_buffer >= 0 && grpo.overlong_buffer <= rollout.max_new_tokens,
          "grpo.overlong_buffer: must be in [0, rollout.max_new_tokens]");
  require(grpo.overlong_penalty >= 0, "grpo.overlong_penalty: must be >= 0");
  require(grpo.ref_refresh_steps >= 0, "grpo.ref_refresh_steps: must be >= 0 (0: never)");
  require(grpo.loss.tis_cap == 0 || grpo.recompute_old_logprobs,
          "grpo.tis_cap: needs grpo.recompute_old_logprobs = true (the IS weight compares the trainer's pi_old "
          "with the rollout's log-probs)");
  require(!grpo.router_replay || rollout.record_routes,
          "grpo.router_replay: needs rollout.record_routes = true (replay uses the routes the rollout recorded)");
  require(grpo.bias_update_gamma >= 0, "grpo.bias_update_gamma: must be >= 0");
  require(train.steps >= 1, "train.steps: must be >= 1");
  require(train.lr > 0, "train.lr: must be > 0");
  require(train.warmup_steps >= 0, "train.warmup_steps: must be >= 0");
  require(train.min_lr_ratio >= 0 && train.min_lr_ratio <= 1, "train.min_lr_ratio: must be in [0, 1]");
  require(train.max_grad_norm >= 0, "train.max_grad_norm: must be >= 0 (0 disables clipping)");
  require(train.eval_problems >= 0, "train.eval_problems: must be >= 0");
  require(train.eval_samples >= 1, "train.eval_samples: must be >= 1");
  require(train.eval_temperature >= 0, "train.eval_temperature: must be >= 0");
  require(train.eval_every >= 0, "train.eval_every: must be >= 0");
  require(train.save_every >= 0, "train.save_every: must be >= 0 (0: only on SIGINT/SIGTERM)");
  require(train.keep_checkpoints >= 1, "train.keep_checkpoints: must be >= 1");
  require(train.max_bad_steps >= 1, "train.max_bad_steps: must be >= 1");
  require(data.train_size >= 0, "data.train_size: must be >= 0 (0: a fresh problem every draw)");
  require(!train.run_name.empty() && train.run_name.find('/') == std::string::npos,
          "train.run_name: must be a non-empty name without '/'");
}

nlohmann::json RunConfig::to_json() const {
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& r : rewards) rules.push_back({{"name", r.name}, {"weight", r.weight}, {"options", r.options}});
  return {
      {"model", {{"path", model.path}, {"device", model.device}}},
      {"data",
       {{"task", data.task}, {"options", data.options}, {"template", data.template_name}, {"seed", data.seed},
        {"eval_seed", data.eval_seed}, {"train_size", data.train_size}}},
      {"rollout",
       {{"prompts_per_step", rollout.prompts_per_step}, {"group_size", rollout.group_size},
        {"max_new_tokens", rollout.max_new_tokens}, {"temperature", rollout.temperature}, {"top_p", rollout.top_p},
        {"top_k", rollout.top_k}, {"stop", rollout.stop}, {"record_routes", rollout.record_routes}}},
      {"rewards", {{"rules", rules}}},
      {"grpo",
       {{"preset", grpo.preset}, {"beta", grpo.loss.beta}, {"kl_estimator", to_string(grpo.loss.kl_estimator)},
        {"kl_placement", grpo.loss.kl_in_loss ? "loss" : "reward"}, {"clip_low", grpo.loss.clip_low},
        {"clip_high", grpo.loss.clip_high}, {"dual_clip", grpo.loss.dual_clip},
        {"ratio_level", to_string(grpo.loss.ratio_level)}, {"entropy_coef", grpo.loss.entropy_coef},
        {"tis_cap", grpo.loss.tis_cap}, {"max_log_ratio", grpo.loss.max_log_ratio},
        {"aggregation", to_string(grpo.loss.aggregation)}, {"sum_norm", grpo.loss.sum_norm},
        {"scale_rewards", to_string(grpo.scale_rewards)}, {"advantage_eps", grpo.advantage_eps},
        {"mu", grpo.mu}, {"minibatches", grpo.minibatches}, {"micro_batch_size", grpo.micro_batch_size},
        {"recompute_old_logprobs", grpo.recompute_old_logprobs}, {"dynamic_sampling", grpo.dynamic_sampling},
        {"max_sampling_rounds", grpo.max_sampling_rounds}, {"overlong_buffer", grpo.overlong_buffer},
        {"overlong_penalty", grpo.overlong_penalty}, {"ref_refresh_steps", grpo.ref_refresh_steps},
        {"router_replay", grpo.router_replay}, {"bias_update_gamma", grpo.bias_update_gamma}}},
      {"train",
       {{"run_name", train.run_name}, {"output_dir", train.output_dir}, {"steps", train.steps}, {"lr", train.lr},
        {"warmup_steps", train.warmup_steps}, {"min_lr_ratio", train.min_lr_ratio},
        {"weight_decay", train.weight_decay}, {"adam_beta1", train.adam_beta1}, {"adam_beta2", train.adam_beta2},
        {"max_grad_norm", train.max_grad_norm}, {"seed", train.seed}, {"samples_per_step", train.samples_per_step},
        {"eval_problems", train.eval_problems}, {"eval_samples", train.eval_samples},
        {"eval_temperature", train.eval_temperature}, {"eval_top_p", train.eval_top_p},
        {"eval_every", train.eval_every}, {"threads", train.threads}, {"save_every", train.save_every},
        {"keep_checkpoints", train.keep_checkpoints}, {"max_bad_steps", train.max_bad_steps}}},
  };
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
  for (const auto& o : overrides) apply_override(j, o);
  return run_config_from_json(j, file.string());
}

}  // namespace aha::grpo
