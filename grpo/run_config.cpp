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
  std::string aggregation = to_string(c.grpo.loss.aggregation);
  JsonFields(grpo, where + ": grpo")
      .field("beta", c.grpo.loss.beta)
      .field("clip_low", c.grpo.loss.clip_low)
      .field("clip_high", c.grpo.loss.clip_high)
      .field("max_log_ratio", c.grpo.loss.max_log_ratio)
      .field("aggregation", aggregation)
      .field("sum_norm", c.grpo.loss.sum_norm)
      .field("scale_by_std", c.grpo.scale_by_std)
      .field("advantage_eps", c.grpo.advantage_eps)
      .field("mu", c.grpo.mu)
      .field("minibatches", c.grpo.minibatches)
      .field("router_replay", c.grpo.router_replay)
      .field("bias_update_gamma", c.grpo.bias_update_gamma)
      .finish();
  try {
    c.grpo.loss.aggregation = parse_aggregation(aggregation);
  } catch (const std::exception& e) {
    throw std::invalid_argument(where + ": grpo.aggregation: " + e.what());
  }
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
      .field("threads", c.train.threads)
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
        {"eval_seed", data.eval_seed}}},
      {"rollout",
       {{"prompts_per_step", rollout.prompts_per_step}, {"group_size", rollout.group_size},
        {"max_new_tokens", rollout.max_new_tokens}, {"temperature", rollout.temperature}, {"top_p", rollout.top_p},
        {"top_k", rollout.top_k}, {"stop", rollout.stop}, {"record_routes", rollout.record_routes}}},
      {"rewards", {{"rules", rules}}},
      {"grpo",
       {{"beta", grpo.loss.beta}, {"clip_low", grpo.loss.clip_low}, {"clip_high", grpo.loss.clip_high},
        {"max_log_ratio", grpo.loss.max_log_ratio}, {"aggregation", to_string(grpo.loss.aggregation)},
        {"sum_norm", grpo.loss.sum_norm}, {"scale_by_std", grpo.scale_by_std},
        {"advantage_eps", grpo.advantage_eps}, {"mu", grpo.mu}, {"minibatches", grpo.minibatches},
        {"router_replay", grpo.router_replay}, {"bias_update_gamma", grpo.bias_update_gamma}}},
      {"train",
       {{"run_name", train.run_name}, {"output_dir", train.output_dir}, {"steps", train.steps}, {"lr", train.lr},
        {"warmup_steps", train.warmup_steps}, {"min_lr_ratio", train.min_lr_ratio},
        {"weight_decay", train.weight_decay}, {"adam_beta1", train.adam_beta1}, {"adam_beta2", train.adam_beta2},
        {"max_grad_norm", train.max_grad_norm}, {"seed", train.seed}, {"samples_per_step", train.samples_per_step},
        {"eval_problems", train.eval_problems}, {"eval_samples", train.eval_samples},
        {"eval_temperature", train.eval_temperature}, {"eval_top_p", train.eval_top_p},
        {"threads", train.threads}}},
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
