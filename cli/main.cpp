// The aha executable: subcommands only parse arguments, wire the libraries together and print.
//   aha train    --config run.json [--set section.key=value ...] [--overwrite]
//   aha pretrain --config pretrain.json [--set ...] [--dump-corpus N --out FILE]
//   aha eval     --model DIR --task NAME [--split test] [--samples k] [--problems n] ...
//   aha info     --model DIR
//   aha generate --model DIR --prompt TEXT [--max-new-tokens n] [--temperature t] [--seed s]
// Every error is one line on stderr ("aha: error: <file or key>: <what was expected>") and exit code 1.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include <torch/torch.h>

#include "datasets/task.h"
#include "datasets/template.h"
#include "grpo/evaluate.h"
#include "grpo/pretrain.h"
#include "grpo/run_config.h"
#include "grpo/trainer.h"
#include "policy/checkpoint.h"

namespace {

using namespace aha;

int cmd_train(const std::string& config_path, const std::vector<std::string>& overrides, bool overwrite) {
  auto config = grpo::load_run_config(config_path, overrides);
  grpo::Trainer trainer(config);
  auto summary = trainer.run(overwrite);
  std::cout << summary.dump(2) << std::endl;
  return 0;
}

int cmd_pretrain(const std::string& config_path, const std::vector<std::string>& overrides, int64_t dump_count,
                 const std::string& out) {
  auto config = grpo::load_pretrain_config(config_path, overrides);
  if (dump_count > 0) {
    if (out.empty()) throw std::invalid_argument("--dump-corpus needs --out FILE");
    std::ofstream file(out);
    for (const auto& doc : grpo::pretrain_documents(config, dump_count)) file << doc << "<|endoftext|>\n";
    std::cerr << "aha pretrain: wrote " << dump_count << " documents to " << out << "\n";
    return 0;
  }
  grpo::pretrain(config);
  return 0;
}

int cmd_eval(const std::string& model_dir, const std::string& task_name, const std::string& split,
             int64_t samples, int64_t problems_n, uint64_t seed, double temperature, double top_p,
             int64_t max_new_tokens, const std::string& template_name, const std::string& out) {
  auto task = datasets::make_task(task_name, nlohmann::json::object());
  auto split_value = datasets::parse_split(split);
  auto template_text = datasets::resolve_template(template_name);
  auto policy = policy::load_policy(model_dir);
  rollout::Engine engine(policy.model, policy.tokenizer, grpo::resolve_eos_token(policy));
  grpo::EvalOptions options;
  options.samples = samples;
  options.seed = seed;
  options.generation.max_new_tokens = max_new_tokens;
  options.generation.sampling = {temperature, top_p, 0};
  auto result = grpo::evaluate(engine, task->problems(split_value, problems_n, seed), template_text, options);
  if (!out.empty()) {
    std::ofstream file(out);
    for (const auto& p : result.per_problem)
      file << nlohmann::json{{"id", p.id}, {"answer", p.answer}, {"responses", p.responses},
                             {"accuracy", p.accuracy}, {"format", p.format}}.dump()
           << "\n";
  }
  auto summary = result.summary();
  summary["model"] = model_dir;
  summary["task"] = task_name;
  summary["split"] = split;
  summary["temperature"] = temperature;
  std::cout << summary.dump(2) << std::endl;
  return 0;
}

int cmd_info(const std::string& model_dir) {
  auto policy = policy::load_policy(model_dir);
  const auto& c = policy.config;
  auto counts = policy.model->parameter_counts();
  nlohmann::json info = {
      {"model", model_dir},
      {"model_type", c.model_type},
      {"architecture",
       {{"layers", c.num_hidden_layers}, {"hidden_size", c.hidden_size}, {"heads", c.num_attention_heads},
        {"attention", "MLA"}, {"q_lora_rank", c.q_lora_rank}, {"kv_lora_rank", c.kv_lora_rank},
        {"qk_nope_head_dim", c.qk_nope_head_dim}, {"qk_rope_head_dim", c.qk_rope_head_dim},
        {"v_head_dim", c.v_head_dim}, {"dense_layers", std::min(c.first_k_dense_replace, c.num_hidden_layers)},
        {"moe_layers", static_cast<int64_t>(policy.model->moe_layers().size())},
        {"routed_experts", c.n_routed_experts}, {"shared_experts", c.n_shared_experts},
        {"experts_per_token", c.num_experts_per_tok}, {"n_group", c.n_group}, {"topk_group", c.topk_group},
        {"vocab_size", c.vocab_size}}},
      {"parameters", {{"total", counts.total}, {"active_per_token", counts.active_per_token}}},
      {"kv_cache_bytes_per_token", {{"fp32", policy.model->kv_cache_bytes_per_token(4)},
                                    {"bf16", policy.model->kv_cache_bytes_per_token(2)}}},
      {"dtype", c.torch_dtype},
      {"tokenizer_vocab", policy.tokenizer->vocab_size()},
  };
  std::cout << info.dump(2) << std::endl;
  return 0;
}

int cmd_generate(const std::string& model_dir, const std::string& prompt, int64_t max_new_tokens, double temperature,
                 double top_p, uint64_t seed) {
  auto policy = policy::load_policy(model_dir);
  rollout::Engine engine(policy.model, policy.tokenizer, grpo::resolve_eos_token(policy));
  rollout::GenerationConfig g;
  g.max_new_tokens = max_new_tokens;
  g.sampling = {temperature, top_p, 0};
  auto result = engine.generate({prompt}, 1, g, {seed});
  const auto& c = result.completions[0];
  std::cout << nlohmann::json{{"prompt", prompt}, {"completion", c.text}, {"token_ids", c.token_ids},
                              {"finish_reason", c.finish_reason}}.dump(2)
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aha: R1-Zero-style GRPO training in one native program"};
  app.require_subcommand(1);

  std::string config_path, out, model_dir, task_name, split = "test", template_name = "compact", prompt;
  std::vector<std::string> overrides;
  bool overwrite = false;
  int64_t dump_count = 0, samples = 4, problems_n = 200, max_new_tokens = 48;
  uint64_t seed = 2;
  double temperature = 1.0, top_p = 1.0;

  auto* train = app.add_subcommand("train", "GRPO training from a run config");
  train->add_option("--config", config_path, "run config JSON")->required();
  train->add_option("--set", overrides, "override: section.key=value (repeatable)");
  train->add_flag("--overwrite", overwrite, "replace an existing run directory of the same name");

  auto* pre = app.add_subcommand("pretrain", "make the demo base checkpoint from a synthetic corpus");
  pre->add_option("--config", config_path, "pretrain config JSON")->required();
  pre->add_option("--set", overrides, "override: section.key=value (repeatable)");
  pre->add_option("--dump-corpus", dump_count, "write N corpus documents instead of training");
  pre->add_option("--out", out, "file for --dump-corpus");

  auto* eval = app.add_subcommand("eval", "held-out evaluation: pass@1 over k samples, format rate");
  eval->add_option("--model", model_dir, "HF-layout policy directory")->required();
  eval->add_option("--task", task_name, "task name (arith)")->required();
  eval->add_option("--split", split, "train or test");
  eval->add_option("--samples", samples, "samples per problem (k)");
  eval->add_option("--problems", problems_n, "number of problems");
  eval->add_option("--seed", seed, "problem and sampling seed");
  eval->add_option("--temperature", temperature, "sampling temperature (0: greedy)");
  eval->add_option("--top-p", top_p, "nucleus sampling");
  eval->add_option("--max-new-tokens", max_new_tokens, "generation limit");
  eval->add_option("--template", template_name, "prompt template preset or text with {question}");
  eval->add_option("--out", out, "per-problem JSONL output");

  auto* info = app.add_subcommand("info", "architecture, parameter counts, KV bytes per token");
  info->add_option("--model", model_dir, "HF-layout policy directory")->required();

  auto* gen = app.add_subcommand("generate", "sample one completion");
  gen->add_option("--model", model_dir, "HF-layout policy directory")->required();
  gen->add_option("--prompt", prompt, "prompt text")->required();
  gen->add_option("--max-new-tokens", max_new_tokens, "generation limit");
  gen->add_option("--temperature", temperature, "sampling temperature (0: greedy)");
  gen->add_option("--top-p", top_p, "nucleus sampling");
  gen->add_option("--seed", seed, "sampling seed");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*train) return cmd_train(config_path, overrides, overwrite);
    if (*pre) return cmd_pretrain(config_path, overrides, dump_count, out);
    if (*eval)
      return cmd_eval(model_dir, task_name, split, samples, problems_n, seed, temperature, top_p, max_new_tokens,
                      template_name, out);
    if (*info) return cmd_info(model_dir);
    if (*gen) return cmd_generate(model_dir, prompt, max_new_tokens, temperature, top_p, seed);
  } catch (const c10::Error& e) {
    std::cerr << "aha: error: " << e.what_without_backtrace() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "aha: error: " << e.what() << std::endl;
    return 1;
  }
  return 1;
}
