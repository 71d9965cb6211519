// The aha executable: subcommands only parse arguments, wire the libraries together and print.
//   aha train    --config run.json [--set section.key=value ...] [--overwrite]
//   aha train    --resume RUN_DIR [--set ...]
//   aha pretrain --config pretrain.json [--set ...] [--dump-corpus N --out FILE]
//   aha eval     --model DIR (--task arith | --benchmark NAME [--data FILE]) [--compare DIR] [--template T]
//                [--samples k] [--problems n] [--temperature t] [--top-p p] [--out FILE] [--device D] [--dtype T] ...
//   aha eval     --responses FILE.jsonl (--task RULE | --benchmark NAME) [--out FILE]
//   aha info     --model DIR
//   aha info     --plan run.json [--set section.key=value ...]   peak memory of that run, by what holds it
//   aha score    --reward SPEC --in cases.jsonl [--out results.jsonl] [--workers N]
//   aha convert  --model DIR --out DIR [--overwrite] [--dtype float32|bfloat16|float16] [--max-shard-size 5GB]
//   aha generate --model DIR --prompt TEXT [--chat] [--max-new-tokens n] [--temperature t] [--seed s]
//                [--device cpu|cuda[:N]] [--dtype float32|bfloat16|float16]
//   aha tokenize --model DIR --text TEXT [--chat] [--no-bos]
//   aha logprobs --model DIR (--text TEXT | --ids 1,2,3 | --in FILE.jsonl) [--no-bos] [--device D] [--dtype T]
// --dtype is the weights' dtype (default: the checkpoint's own); model-loading commands all take both.
// Texts are encoded with BOS/EOS as the model's tokenizer_config.json says (add_bos_token, add_eos_token),
// or, without that file, with config.json's bos_token_id (logprobs) or none (tokenize). --chat wraps the text
// as one user message in the model's chat template plus its generation prompt (policy/chat_template.h);
// the template writes its own BOS, so nothing more is added.
// Every error is one line on stderr ("aha: error: <file or key>: <what was expected>") and exit code 1;
// option values outside their range (temperature, top-p, token and sample counts, seeds) fail while
// parsing, before any model is loaded. aha deletes only what it created: `convert --out` and every other
// output directory follow policy::check_output_dir, and an output file is never one of the inputs.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include <torch/torch.h>

#include "cli/data.h"
#include "cli/eval.h"
#include "datasets/jsonl.h"
#include "grpo/memory_plan.h"
#include "grpo/run_config.h"
#include "grpo/stop_signal.h"
#include "grpo/trainer.h"
#include "policy/chat_prompt.h"
#include "policy/chat_template.h"
#include "policy/checkpoint.h"
#include "policy/eos.h"
#include "policy/tokenizer_config.h"
#include "pretrain/pretrain.h"
#include "rewards/registry.h"
#include "rewards/rubric.h"

namespace {

using namespace aha;

// Option ranges, checked by CLI11 while it parses (before any model is loaded); a value outside is the
// one-line error "--top-p: expected a number in (0, 1], got 0". Written out because CLI::Range lets "nan"
// through (every comparison with NaN is false) and takes "-1" for an unsigned seed (it wraps).
std::optional<double> parse_number(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) return std::nullopt;
  return value;
}

CLI::Validator integer_at_least(int64_t min) {
  const std::string expected = "expected an integer >= " + std::to_string(min);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const long long value = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || value < min)
          return expected + ", got '" + text + "'";
        return {};
      },
      "INT>=" + std::to_string(min));
}

// 0 is greedy; a positive temperature below vLLM's 1e-5 (_SAMPLING_EPS) overflows logits / temperature
// in fp32 and samples from NaNs.
constexpr double kMinTemperature = 1e-5;

CLI::Validator temperature_range() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const auto t = parse_number(text);
        if (!t || !std::isfinite(*t) || *t < 0 || (*t > 0 && *t < kMinTemperature))
          return "expected 0 (greedy) or a finite number >= 1e-05, got '" + text + "'";
        return {};
      },
      "0 or >=1e-05");
}

CLI::Validator top_p_range() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const auto p = parse_number(text);
        if (!p || !(*p > 0 && *p <= 1)) return "expected a number in (0, 1], got '" + text + "'";
        return {};
      },
      "(0, 1]");
}

// A run stopped by SIGINT/SIGTERM exits 128 + signal after its checkpoint, as the signal would have.
int cmd_train(const std::string& config_path, const std::string& resume_dir, const std::vector<std::string>& overrides,
              bool overwrite) {
  if (config_path.empty() == resume_dir.empty())
    throw std::invalid_argument("aha train: give exactly one of --config FILE (a new run) or --resume RUN_DIR");
  nlohmann::json summary;
  if (!resume_dir.empty()) {  // the run's own resolved config; --set still applies (e.g. more train.steps)
    grpo::Trainer trainer(grpo::load_run_config(std::filesystem::path(resume_dir) / "config.json", overrides));
    summary = trainer.resume(resume_dir, overrides);
  } else {
    grpo::Trainer trainer(grpo::load_run_config(config_path, overrides));
    summary = trainer.run(overwrite);
  }
  std::cout << summary.dump(2) << std::endl;
  return summary.value("interrupted", false) ? 128 + grpo::stop_signal() : 0;
}

// An output file is never one of the command's inputs: writing it would destroy what was just read.
void check_output_is_not_input(const std::string& out, const std::string& input,
                               const std::string& input_option) {
  std::error_code not_comparable;  // either file missing: they cannot be the same
  if (!out.empty() && !input.empty() && std::filesystem::equivalent(out, input, not_comparable))
    throw std::invalid_argument("--out " + out + ": is the " + input_option + " file " + input +
                                ", which writing would destroy; choose another output file");
}

int cmd_pretrain(const std::string& config_path, const std::vector<std::string>& overrides, int64_t dump_count,
                 const std::string& out) {
  auto config = pretrain::load_pretrain_config(config_path, overrides);
  if (dump_count > 0) {
    if (out.empty()) throw std::invalid_argument("--dump-corpus needs --out FILE");
    std::ofstream file(out);
    if (!file) throw std::runtime_error("--out " + out + ": cannot write: " + std::strerror(errno));
    for (const auto& doc : pretrain::pretrain_documents(config, dump_count)) file << doc << "<|endoftext|>\n";
    file.close();
    if (!file) throw std::runtime_error("--out " + out + ": write failed: " + std::strerror(errno));
    std::cerr << "aha pretrain: wrote " << dump_count << " documents to " << out << "\n";
    return 0;
  }
  pretrain::pretrain(config);
  return 0;
}

int cmd_info(const std::string& model_dir, const std::string& plan_config, const std::vector<std::string>& overrides) {
  if (!plan_config.empty()) {
    if (!model_dir.empty()) throw std::invalid_argument("info: --plan takes the model from the config; leave out --model");
    std::cout << grpo::plan_memory(grpo::load_run_config(plan_config, overrides)).dump(2) << std::endl;
    return 0;
  }
  if (model_dir.empty()) throw std::invalid_argument("info: give --model DIR or --plan CONFIG");
  auto policy = policy::load_policy(model_dir);
  const auto& c = policy.config;
  auto counts = policy.model->parameter_counts();
  nlohmann::json arch = {{"layers", c.num_hidden_layers}, {"hidden_size", c.hidden_size},
                         {"heads", c.num_attention_heads}, {"vocab_size", c.vocab_size}};
  if (c.uses_mla()) {
    arch.update({{"attention", "MLA"}, {"q_lora_rank", c.q_lora_rank}, {"kv_lora_rank", c.kv_lora_rank},
                 {"qk_nope_head_dim", c.qk_nope_head_dim}, {"qk_rope_head_dim", c.qk_rope_head_dim},
                 {"v_head_dim", c.v_head_dim}});
  } else {
    arch.update({{"attention", "GQA"}, {"kv_heads", c.num_key_value_heads}, {"head_dim", c.head_dim},
                 {"qkv_bias", c.qkv_bias}, {"qk_norm", c.qk_norm}});
  }
  int64_t moe_layers = static_cast<int64_t>(policy.model->moe_layers().size());
  arch.update({{"dense_layers", c.num_hidden_layers - moe_layers}, {"moe_layers", moe_layers}});
  if (moe_layers > 0)
    arch.update({{"routed_experts", c.n_routed_experts}, {"shared_experts", c.n_shared_experts},
                 {"experts_per_token", c.num_experts_per_tok}, {"n_group", c.n_group},
                 {"topk_group", c.topk_group}, {"scoring_func", policy::to_string(c.scoring_func)}});
  if (c.rope_scaling.type != policy::RopeType::None) arch["rope_scaling"] = policy::to_string(c.rope_scaling.type);
  nlohmann::json info = {
      {"model", model_dir},
      {"model_type", c.model_type},
      {"architecture", arch},
      {"parameters", {{"total", counts.total}, {"active_per_token", counts.active_per_token}}},
      {"kv_cache_bytes_per_token", {{"fp32", policy.model->kv_cache_bytes_per_token(4)},
                                    {"bf16", policy.model->kv_cache_bytes_per_token(2)}}},
      {"dtype", c.torch_dtype},
      {"tokenizer_vocab", policy.tokenizer->vocab_size()},
  };
  std::cout << info.dump(2) << std::endl;
  return 0;
}

// The rubric named by --reward: a built-in rule name, or a JSON file holding a rules array or
// {"rules": [...]} (the run config's rewards section).
rewards::Rubric make_rubric(const std::string& spec, int workers) {
  const auto known = rewards::known_rules();
  const bool rule_name = std::find(known.begin(), known.end(), spec) != known.end();
  if (!rule_name && std::filesystem::is_regular_file(spec)) {  // a rule name wins over a file of that name
    std::ifstream in(spec);
    nlohmann::json j;
    try {
      in >> j;
    } catch (const std::exception& e) {
      throw std::invalid_argument(spec + ": invalid JSON: " + e.what());
    }
    if (j.is_object() && j.contains("rules")) return rewards::Rubric(rewards::parse_rules(j["rules"], spec + ": rules"));
    return rewards::Rubric(rewards::parse_rules(j, spec));
  }
  rewards::RuleSpec rule{spec, 1.0, nullptr};
  if (spec == "code") rule.options = {{"workers", workers}};
  try {
    return rewards::Rubric({rule});
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--reward: ") + e.what() + "; or a rubric JSON file");
  }
}

// One JSONL case -> the rule input: "completion" (required), "prompt", and "answer" (a string or number);
// without "answer", the whole line minus "completion" is the ground truth, as the code rule
// ({"prompt", "test", "entry_point"} or {"tests"}) and countdown ({"numbers", "target"}) read it.
rewards::RewardInput reward_input(const nlohmann::json& line, const std::string& where) {
  if (!line.is_object()) throw std::invalid_argument(where + ": expected a JSON object");
  auto completion = line.find("completion");
  if (completion == line.end() || !completion->is_string())
    throw std::invalid_argument(where + ": field 'completion': expected a string");
  rewards::RewardInput input;
  input.completion = completion->get<std::string>();
  if (auto p = line.find("prompt"); p != line.end() && p->is_string()) input.prompt = p->get<std::string>();
  if (auto a = line.find("answer"); a != line.end()) {
    if (a->is_string()) input.answer = a->get<std::string>();
    else if (a->is_number()) input.answer = a->dump();
    else throw std::invalid_argument(where + ": field 'answer': expected a string or a number");
  } else {
    nlohmann::json truth = line;
    truth.erase("completion");
    input.answer = truth.dump();
  }
  return input;
}

int cmd_score(const std::string& spec, const std::string& in_file, const std::string& out_file, int workers) {
  if (workers < 1) throw std::invalid_argument("--workers: expected >= 1, got " + std::to_string(workers));
  const rewards::Rubric rubric = make_rubric(spec, workers);
  std::ifstream in(in_file);
  if (!in) throw std::runtime_error(in_file + ": cannot open (expected JSONL cases)");
  std::vector<rewards::RewardInput> inputs;
  datasets::for_each_jsonl(in, in_file, [&](const nlohmann::json& line, int64_t, const std::string& where) {
    inputs.push_back(reward_input(line, where));
  });
  const auto start = std::chrono::steady_clock::now();
  auto results = rubric.score_batch(inputs, workers);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::ofstream out_stream;
  if (!out_file.empty()) {
    out_stream.open(out_file);
    if (!out_stream)
      throw std::runtime_error("--out " + out_file + ": cannot write: " + std::strerror(errno));
  }
  std::ostream& out = out_file.empty() ? std::cout : out_stream;
  double total = 0;
  int64_t errors = 0;
  std::map<std::string, double> rule_sums;
  for (const auto& r : results) {
    nlohmann::json line = {{"reward", r.total}, {"rules", nlohmann::json::object()}};
    for (const auto& [name, score] : r.rules) {
      line["rules"][name] = score;
      rule_sums[name] += score;
    }
    if (!r.error.empty()) {
      line["error"] = r.error;
      ++errors;
    }
    out << line.dump() << "\n";
    total += r.total;
  }
  out.flush();
  if (!out_file.empty()) out_stream.close();
  if (!out)
    throw std::runtime_error("--out " + (out_file.empty() ? "stdout" : out_file) +
                             ": write failed: " + std::strerror(errno));
  const double n = std::max<double>(1, static_cast<double>(results.size()));
  nlohmann::json summary = {{"cases", results.size()}, {"reward_mean", total / n}, {"errors", errors},
                            {"seconds", seconds}, {"cases_per_second", results.size() / std::max(seconds, 1e-9)}};
  for (const auto& [name, sum] : rule_sums) summary["rules"][name] = sum / n;
  for (const auto& f : rubric.failures())
    summary["external"][f.rule] = {{"failed_samples", f.stats.failed_samples}, {"timeouts", f.stats.timeouts},
                                   {"crashes", f.stats.crashes}, {"protocol_errors", f.stats.protocol_errors},
                                   {"restarts", f.stats.restarts}};
  std::cerr << summary.dump() << std::endl;
  return 0;
}

// "5GB", "200KB", "1.5GiB", "1000000" -> bytes (decimal units for KB/MB/GB, binary for KiB/MiB/GiB, as
// transformers' max_shard_size); "0" -> one file.
uint64_t parse_size(const std::string& text) {
  size_t used = 0;
  double number = 0;
  try {
    number = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  const std::vector<std::pair<std::string, double>> units = {
      {"", 1}, {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"KiB", 1024.0}, {"MiB", 1024.0 * 1024},
      {"GiB", 1024.0 * 1024 * 1024}};
  for (const auto& [name, scale] : units)
    if (used > 0 && std::isfinite(number) && number >= 0 && number * scale < 18446744073709551616.0 &&
        unit == name)
      return static_cast<uint64_t>(number * scale);
  throw std::invalid_argument("--max-shard-size: '" + text + "' is not a size; expected e.g. 5GB, 500MB, 2GiB or 0");
}

// Loads a checkpoint (FP8 block-scaled weights dequantised) and writes it back in HF layout: the dtype
// asked for, shards of at most max_shard_size, tokenizer files copied. --out is new, empty, or (with
// --overwrite) a model directory, and never the source or a directory holding it (check_output_dir).
int cmd_convert(const std::string& model_dir, const std::string& out_dir, const std::string& dtype_name,
                const std::string& max_shard_size, bool overwrite) {
  policy::LoadOptions load;
  load.dtype = policy::parse_dtype(dtype_name, "--dtype");
  const uint64_t shard_bytes = parse_size(max_shard_size);
  policy::check_output_dir(out_dir, model_dir, overwrite, "--out");
  auto policy = policy::load_policy(model_dir, load);  // weights converted as they are read
  policy::save_policy(*policy.model, std::filesystem::path(model_dir) / "tokenizer.json", out_dir, {}, shard_bytes);
  std::cout << nlohmann::json({{"model", model_dir}, {"out", out_dir}, {"dtype", dtype_name}}).dump() << std::endl;
  return 0;
}

// --device and --dtype of the commands that load a model
struct LoadArgs {
  std::string device = "cpu", dtype;  // dtype "": the checkpoint's own
  policy::LoadOptions options() const { return policy::parse_load_options(device, dtype); }
};

int cmd_generate(const std::string& model_dir, const std::string& prompt, bool chat, int64_t max_new_tokens,
                 double temperature, double top_p, uint64_t seed, const LoadArgs& load) {
  auto policy = policy::load_policy(model_dir, load.options());
  const std::string text = chat ? policy::render_chat(model_dir, *policy.tokenizer, prompt) : prompt;
  const auto prompt_tokens = static_cast<int64_t>(policy.tokenizer->encode(text).size());
  const int64_t room = policy.config.max_position_embeddings - prompt_tokens;
  if (max_new_tokens > room)
    throw std::invalid_argument(
        "--max-new-tokens: " + std::to_string(max_new_tokens) + " does not fit: the prompt has " +
        std::to_string(prompt_tokens) + " tokens of the model's max_position_embeddings " +
        std::to_string(policy.config.max_position_embeddings) + "; expected at most " +
        std::to_string(std::max<int64_t>(room, 0)) + (room < 1 ? " (shorten the prompt)" : ""));
  rollout::Engine engine(policy.model, policy.tokenizer, policy::resolve_eos_token(policy));
  rollout::GenerationConfig g;
  g.max_new_tokens = max_new_tokens;
  g.sampling = {temperature, top_p, 0};
  auto result = engine.generate({text}, 1, g, {seed});
  const auto& c = result.completions[0];
  nlohmann::json out = {{"prompt", prompt},
                        {"completion", c.text},
                        {"token_ids", c.token_ids},
                        {"finish_reason", rollout::to_string(c.finish_reason)}};
  if (chat) out["chat_prompt"] = text;
  std::cout << out.dump(2) << std::endl;
  return 0;
}

// {"token_ids", "logprobs": [null, ...], "sum"}: logprobs[i] = log p(token i | tokens before it),
// teacher-forced at temperature 1; the first token has no context, hence null.
nlohmann::json teacher_forced_logprobs(policy::TransformerImpl& model, const std::vector<int64_t>& ids) {
  nlohmann::json logprobs = nlohmann::json::array({nullptr});
  double sum = 0;
  if (ids.size() >= 2) {
    torch::NoGradGuard no_grad;
    const int64_t L = static_cast<int64_t>(ids.size()) - 1;
    const auto device = model.embed_tokens->weight.device();
    auto all = torch::tensor(ids, torch::kLong).unsqueeze(0).to(device);
    auto positions = torch::arange(L, torch::kLong).unsqueeze(0).to(device);
    auto hidden = model.hidden_states(all.narrow(1, 0, L), positions);
    auto lp = model.token_logprobs(hidden, all.narrow(1, 1, L), 1.0)[0].to(torch::kDouble).cpu();
    for (int64_t i = 0; i < L; ++i) {
      double v = lp[i].item<double>();
      logprobs.push_back(v);
      sum += v;
    }
  }
  return {{"token_ids", ids}, {"logprobs", logprobs}, {"sum", sum}};
}

// The ids of a text as HF's tokenizer(text) gives them: BOS/EOS as tokenizer_config.json says when the model
// directory has one; otherwise `fallback_bos` (config.json's bos_token_id for logprobs) in front. --no-bos
// drops the BOS either way.
std::vector<int64_t> encode_text(const policy::Tokenizer& tokenizer,
                                 const std::optional<policy::TokenizerConfig>& config,
                                 std::optional<int64_t> fallback_bos, const std::string& text, bool no_bos) {
  if (config) {
    auto ids = config->encode(tokenizer, text);
    if (no_bos && config->add_bos_token) ids.erase(ids.begin());
    return ids;
  }
  auto ids = tokenizer.encode(text);
  if (!no_bos && fallback_bos) ids.insert(ids.begin(), *fallback_bos);
  return ids;
}

int cmd_tokenize(const std::string& model_dir, const std::string& text, bool chat, bool no_bos) {
  auto tokenizer = policy::Tokenizer::load(std::filesystem::path(model_dir) / "tokenizer.json");
  if (chat) {
    if (no_bos)
      throw std::invalid_argument("--no-bos: not with --chat (the chat template writes the BOS itself)");
    const std::string rendered = policy::render_chat(model_dir, tokenizer, text);
    std::cout << nlohmann::json{{"text", rendered}, {"token_ids", tokenizer.encode(rendered)}}.dump()
              << std::endl;
    return 0;
  }
  auto config = policy::load_tokenizer_config_from_dir(model_dir, tokenizer);
  std::cout
      << nlohmann::json{{"token_ids", encode_text(tokenizer, config, std::nullopt, text, no_bos)}}.dump()
      << std::endl;
  return 0;
}

int cmd_logprobs(const std::string& model_dir, const std::string& text, const std::string& ids_csv,
                 const std::string& in_file, bool no_bos, const LoadArgs& load) {
  if (text.empty() + ids_csv.empty() + in_file.empty() != 2)
    throw std::invalid_argument("logprobs: give exactly one of --text, --ids, --in");
  auto policy = policy::load_policy(model_dir, load.options());
  const auto tokenizer_config = policy::load_tokenizer_config_from_dir(model_dir, *policy.tokenizer);
  auto encode = [&](const std::string& t) {
    return encode_text(*policy.tokenizer, tokenizer_config, policy.config.bos_token_id, t, no_bos);
  };
  if (!ids_csv.empty()) {
    std::vector<int64_t> ids;
    std::stringstream ss(ids_csv);
    for (std::string item; std::getline(ss, item, ',');) {
      size_t used = 0;
      try {
        ids.push_back(std::stoll(item, &used));
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != item.size())
        throw std::invalid_argument("--ids: '" + item + "' is not an integer (expected e.g. 1,2,3)");
      if (ids.back() < 0 || ids.back() >= policy.config.vocab_size)
        throw std::invalid_argument("--ids: " + item + " is outside [0, vocab_size=" +
                                    std::to_string(policy.config.vocab_size) + ")");
    }
    std::cout << teacher_forced_logprobs(*policy.model, ids).dump() << std::endl;
    return 0;
  }
  if (!text.empty()) {
    auto ids = encode(text);
    std::cout << teacher_forced_logprobs(*policy.model, ids).dump() << std::endl;
    return 0;
  }
  std::ifstream in(in_file);
  if (!in) throw std::runtime_error(in_file + ": cannot open");
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("text") || !j["text"].is_string())
      throw std::invalid_argument(in_file + ":" + std::to_string(n) + ": expected a JSON object with a string \"text\"");
    auto ids = encode(j["text"].get<std::string>());
    std::cout << teacher_forced_logprobs(*policy.model, ids).dump() << "\n";
  }
  std::cout << std::flush;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aha: R1-Zero-style GRPO training in one native program"};
  app.require_subcommand(1);

  std::string config_path, out, model_dir, prompt;
  std::vector<std::string> overrides;
  bool overwrite = false;
  int64_t dump_count = 0, max_new_tokens = 48;
  uint64_t seed = 2;
  double temperature = 1.0, top_p = 1.0;

  auto* train = app.add_subcommand("train", "GRPO training from a run config");
  std::string resume_dir;
  train->add_option("--config", config_path, "run config JSON (a new run)");
  train->add_option("--resume", resume_dir, "continue RUN_DIR from its latest checkpoint");
  train->add_option("--set", overrides, "override: section.key=value (repeatable)");
  train->add_flag("--overwrite", overwrite, "replace an existing run directory of the same name");

  auto* pre = app.add_subcommand("pretrain", "make the demo base checkpoint from a synthetic corpus");
  pre->add_option("--config", config_path, "pretrain config JSON")->required();
  pre->add_option("--set", overrides, "override: section.key=value (repeatable)");
  pre->add_option("--dump-corpus", dump_count, "write N corpus documents instead of training")
      ->check(integer_at_least(0));
  pre->add_option("--out", out, "file for --dump-corpus");

  cli::EvalArgs eval_args;
  int64_t eval_problems = 0, eval_max_new_tokens = 0;
  double eval_temperature = 0, eval_top_p = 0;
  std::string eval_template;
  auto* eval = app.add_subcommand("eval", "held-out evaluation: pass@k, maj@k, format and truncation rates");
  eval->add_option("--model", eval_args.model, "HF-layout policy directory");
  eval->add_option("--compare", eval_args.compare, "a second model on the same problems and seeds: before/after table");
  eval->add_option("--task", eval_args.task, "arith; with --responses the verifier (math, gsm8k, integer, code, ...)");
  eval->add_option("--benchmark", eval_args.benchmark, "gsm8k, math500, aime24, amc23 or humaneval");
  eval->add_option("--data", eval_args.data, "benchmark file (default: ../shared/data/<benchmark>/...)");
  eval->add_option("--source", eval_args.source,
                   "any data source as data.eval writes it: a path, benchmark or generator, or a JSON object "
                   "with a field mapping, e.g. '{\"path\": \"test.parquet\", \"preset\": \"math\"}'");
  eval->add_option("--verifier", eval_args.verifier, "with --source: the rule that grades it (default: the source's)");
  eval->add_option("--responses", eval_args.responses, "grade completions made elsewhere: JSONL {answer, responses}");
  eval->add_option("--split", eval_args.split, "arith: train or test");
  auto* template_option = eval->add_option("--template", eval_template, "r1zero, compact, chat, or text with {question}");
  eval->add_option("--samples", eval_args.samples, "samples per problem (k)")->check(integer_at_least(1));
  auto* problems_option =
      eval->add_option("--problems", eval_problems, "number of problems (benchmarks: 0 = all)")
          ->check(integer_at_least(0));
  eval->add_option("--seed", eval_args.seed, "problem and sampling seed")->check(integer_at_least(0));
  auto* temperature_option =
      eval->add_option("--temperature", eval_temperature, "sampling temperature (0: greedy)")
          ->check(temperature_range());
  auto* top_p_option = eval->add_option("--top-p", eval_top_p, "nucleus sampling")->check(top_p_range());
  auto* max_new_option = eval->add_option("--max-new-tokens", eval_max_new_tokens, "generation limit")
                             ->check(integer_at_least(1));
  eval->add_option("--stop", eval_args.stop, "stop string (repeatable)");
  eval->add_option("--batch", eval_args.batch, "prompts per generation batch")->check(integer_at_least(1));
  eval->add_option("--workers", eval_args.workers, "grading threads; sandboxed runs at a time for code")
      ->check(integer_at_least(1));
  eval->add_option("--out", eval_args.out, "per-problem JSONL output");

  auto* info = app.add_subcommand("info", "architecture, parameter counts, KV bytes per token; or a run's memory plan");
  info->add_option("--model", model_dir, "HF-layout policy directory");
  std::string plan_config;
  info->add_option("--plan", plan_config, "run config JSON: its peak memory, split by what holds it");
  info->add_option("--set", overrides, "with --plan: override section.key=value (repeatable)");

  std::string reward, cases_file;
  int workers = 1;
  auto* score = app.add_subcommand("score", "score completions with reward rules (JSONL in, JSONL out)");
  score->add_option("--reward", reward, "a rule name (math, gsm8k, countdown, code, format, ...) or a rubric JSON file")
      ->required();
  score->add_option("--in", cases_file, "JSONL: completion + the fields the rule needs (answer; prompt/test/entry_point; tests; numbers/target)")
      ->required();
  score->add_option("--out", out, "JSONL output, one line per input (default: stdout)");
  score->add_option("--workers", workers, "threads for per-sample rules; sandboxed runs at a time for code")
      ->check(integer_at_least(1));

  std::string dtype_name = "float32", max_shard_size = "5GB";
  auto* convert = app.add_subcommand("convert", "rewrite a checkpoint in HF layout (dtype, shards; FP8 dequantised)");
  convert->add_option("--model", model_dir, "HF-layout policy directory")->required();
  convert
      ->add_option("--out", out,
                   "output directory (written atomically): new, empty, or a model directory with --overwrite")
      ->required();
  bool convert_overwrite = false;
  convert->add_flag("--overwrite", convert_overwrite,
                    "replace --out when it holds a model (never any other directory)");
  convert->add_option("--dtype", dtype_name, "float32, bfloat16 or float16");
  convert->add_option("--max-shard-size", max_shard_size, "largest shard, e.g. 5GB, 500MB, 2GiB; 0: one file");

  auto* gen = app.add_subcommand("generate", "sample one completion");
  gen->add_option("--model", model_dir, "HF-layout policy directory")->required();
  gen->add_option("--prompt", prompt, "prompt text")->required();
  gen->add_option("--max-new-tokens", max_new_tokens, "generation limit")->check(integer_at_least(1));
  gen->add_option("--temperature", temperature, "sampling temperature (0: greedy)")
      ->check(temperature_range());
  gen->add_option("--top-p", top_p, "nucleus sampling")->check(top_p_range());
  gen->add_option("--seed", seed, "sampling seed")->check(integer_at_least(0));
  bool chat = false;
  gen->add_flag("--chat", chat, "send the prompt as one user message in the model's chat template");
  LoadArgs load;
  auto add_load_options = [&](CLI::App* command, std::string& device, std::string& dtype) {
    command->add_option("--device", device, "cpu, cuda or cuda:N (default cpu)");
    command->add_option("--dtype", dtype, "weights as float32, bfloat16 or float16 (default: the checkpoint's)");
  };
  add_load_options(gen, load.device, load.dtype);

  std::string text, ids_csv, in_file;
  bool no_bos = false;
  auto* tok = app.add_subcommand("tokenize", "token ids of a text, as JSON");
  tok->add_option("--model", model_dir,
                  "HF-layout policy directory (its tokenizer.json, tokenizer_config.json)")
      ->required();
  tok->add_option("--text", text, "text to encode (BOS/EOS as tokenizer_config.json says)")->required();
  tok->add_flag("--chat", chat, "encode the text as one user message in the model's chat template");
  tok->add_flag("--no-bos", no_bos, "do not add the BOS token");

  auto* lp = app.add_subcommand("logprobs", "teacher-forced log p(token | prefix) for every token, as JSON");
  lp->add_option("--model", model_dir, "HF-layout policy directory")->required();
  lp->add_option("--text", text,
                 "text to score (BOS as tokenizer_config.json says; without it, config.json's bos_token_id)");
  lp->add_option("--ids", ids_csv, "token ids to score, comma-separated (used as given)");
  lp->add_option("--in", in_file, "JSONL file, one {\"text\": ...} per line; one output line each");
  lp->add_flag("--no-bos", no_bos, "do not add the BOS token");
  add_load_options(lp, load.device, load.dtype);
  add_load_options(eval, eval_args.device, eval_args.dtype);

  cli::add_data_command(app);  // `aha data export`: runs from its own parse callback

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // one line and exit code 1, like every other error
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help
    std::cerr << "aha: error: " << e.what() << std::endl;
    return 1;
  }
  try {
    if (*train) return cmd_train(config_path, resume_dir, overrides, overwrite);
    if (*pre) {
      check_output_is_not_input(out, config_path, "--config");
      return cmd_pretrain(config_path, overrides, dump_count, out);
    }
    if (*eval) {
      if (template_option->count()) eval_args.template_name = eval_template;
      if (problems_option->count()) eval_args.problems = eval_problems;
      if (temperature_option->count()) eval_args.temperature = eval_temperature;
      if (top_p_option->count()) eval_args.top_p = eval_top_p;
      if (max_new_option->count()) eval_args.max_new_tokens = eval_max_new_tokens;
      check_output_is_not_input(eval_args.out, eval_args.responses, "--responses");
      check_output_is_not_input(eval_args.out, eval_args.data, "--data");
      return cli::cmd_eval(eval_args);
    }
    if (*info) return cmd_info(model_dir, plan_config, overrides);
    if (*convert) return cmd_convert(model_dir, out, dtype_name, max_shard_size, convert_overwrite);
    if (*score) {
      check_output_is_not_input(out, cases_file, "--in");
      check_output_is_not_input(out, reward, "--reward");
      return cmd_score(reward, cases_file, out, workers);
    }
    if (*gen) return cmd_generate(model_dir, prompt, chat, max_new_tokens, temperature, top_p, seed, load);
    if (*tok) return cmd_tokenize(model_dir, text, chat, no_bos);
    if (*lp) return cmd_logprobs(model_dir, text, ids_csv, in_file, no_bos, load);
  } catch (const c10::Error& e) {
    std::cerr << "aha: error: " << e.what_without_backtrace() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "aha: error: " << e.what() << std::endl;
    return 1;
  }
  return 1;
}
