// The real executable: bad input exits non-zero with a one-line error naming the file or key and leaves no
// run directory behind; logprobs matches HF; tokenize/logprobs add BOS/EOS as tokenizer_config.json says;
// --chat renders the model's chat template; aha eval grades given completions to hand-computed pass@k and maj@k
// and evaluates models on a benchmark file and side by side.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "policy/safetensors.h"
#include "policy/tokenizer.h"
#include "tests/common/run_aha.h"
#include "tests/common/tiny_model.h"

namespace {

using Outcome = aha::testing::AhaOutcome;
using aha::testing::count_lines;
using aha::testing::read_text;
using aha::testing::run_aha_command;

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

}  // namespace

TEST_CASE("bad configs, checkpoints and task names give one-line errors and no run directory") {
  aha::testing::TempDir root_tmp("cli");
  auto root = root_tmp.path;
  aha::testing::make_tiny_policy(root / "model");
  const std::string good =
      R"({"model": {"path": "model"}, "rollout": {"prompts_per_step": 2, "group_size": 2, "max_new_tokens": 4},
          "train": {"steps": 1, "eval_problems": 2, "eval_samples": 1, "run_name": "r"}})";
  struct Case {
    std::string name, config, expect;
  };
  std::vector<Case> cases = {
      {"unknown key", R"({"model": {"path": "model"}, "rollout": {"grup_size": 2}})", "rollout.grup_size: unknown key"},
      {"wrong type", R"({"model": {"path": "model"}, "train": {"steps": "ten"}})", "train.steps: expected an integer"},
      {"unknown task", R"({"model": {"path": "model"}, "data": {"task": "sudoku"}})", "unknown task 'sudoku'"},
      {"missing model", R"({"model": {"path": "nope"}})", "nope"},
      {"invalid json", R"({"model": )", "invalid JSON"},
  };
  for (const auto& c : cases) {
    write(root / "run.json", c.config);
    auto out = run_aha_command("train --config run.json", root);
    INFO(c.name << ": " << out.err);
    CHECK(out.code != 0);
    CHECK(count_lines(out.err) == 1);
    CHECK(out.err.find(c.expect) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(root / "runs"));
  }
  // a truncated checkpoint file is named in the error
  std::filesystem::resize_file(root / "model/model.safetensors", 100);
  write(root / "run.json", good);
  auto out = run_aha_command("train --config run.json", root);
  CHECK(out.code != 0);
  CHECK(count_lines(out.err) == 1);
  CHECK(out.err.find("model.safetensors") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(root / "runs"));
  auto eval = run_aha_command("eval --model model --task nothing", root);
  CHECK(eval.code != 0);
  CHECK(eval.err.find("unknown task 'nothing'") != std::string::npos);
}

TEST_CASE("aha logprobs equals log_softmax of HF transformers' logits for the same ids") {
  // Independent reference: HF's fp32 logits for these ids (tests/fixtures/hf_deepseek_v3, made by
  // scripts/make_hf_fixtures.py). logprobs[i] = log_softmax(logits[i-1])[ids[i]], logprobs[0] = null.
  const auto fixture = std::filesystem::path(AHA_SOURCE_DIR) / "tests/fixtures/hf_deepseek_v3";
  auto expected = aha::policy::load_safetensors(fixture / "expected.safetensors");
  auto ids = expected.at("input_ids")[0].narrow(0, 0, 24);
  auto ref = torch::log_softmax(expected.at("logits")[0].narrow(0, 0, 23), -1).to(torch::kDouble);
  std::string csv;
  for (int64_t i = 0; i < ids.size(0); ++i) {
    if (i > 0) csv += ',';
    csv += std::to_string(ids[i].item<int64_t>());
  }
  aha::testing::TempDir tmp("logprobs");
  auto out = run_aha_command("logprobs --model '" + fixture.string() + "' --ids " + csv, tmp.path);
  REQUIRE(out.code == 0);
  auto j = nlohmann::json::parse(out.out);
  REQUIRE(j["logprobs"].size() == 24);
  CHECK(j["logprobs"][0].is_null());
  double sum = 0;
  for (int64_t i = 1; i < 24; ++i) {
    double want = ref[i - 1][ids[i].item<int64_t>()].item<double>();
    CHECK(j["logprobs"][i].get<double>() == Approx(want).margin(1e-4));
    sum += want;
  }
  CHECK(j["sum"].get<double>() == Approx(sum).margin(1e-3));
  CHECK(j["token_ids"].get<std::vector<int64_t>>().size() == 24);

  auto bad = run_aha_command("logprobs --model '" + fixture.string() + "' --ids 1,x", tmp.path);
  CHECK(bad.code != 0);
  CHECK(bad.err.find("--ids: 'x' is not an integer") != std::string::npos);
  auto tok = run_aha_command("tokenize --model '" + fixture.string() + "' --text 'What is 12 + 3?'", tmp.path);
  REQUIRE(tok.code == 0);
  CHECK(nlohmann::json::parse(tok.out)["token_ids"].size() > 5);
}

// --dtype and --device on the commands that load a model: bf16 log-probs are close to fp32's but not equal
// (the weights really were rounded), a bad value is a one-line error naming the option, and `aha info
// --plan` prints the memory plan of a run config by what holds it.
TEST_CASE("aha logprobs generate and eval take --dtype and --device and info --plan prints the memory plan") {
  const std::string base = std::string(AHA_SOURCE_DIR) + "/examples/tiny/base";
  aha::testing::TempDir tmp("dtype");
  const std::string ids = "--ids 1,40,41,42,43,44,45,46,47,48";
  auto fp32 = run_aha_command("logprobs --model '" + base + "' " + ids, tmp.path);
  auto bf16 = run_aha_command("logprobs --model '" + base + "' " + ids + " --dtype bfloat16 --device cpu", tmp.path);
  REQUIRE(fp32.code == 0);
  REQUIRE(bf16.code == 0);
  const auto a = nlohmann::json::parse(fp32.out)["logprobs"], b = nlohmann::json::parse(bf16.out)["logprobs"];
  double largest = 0;
  for (size_t i = 1; i < a.size(); ++i) largest = std::max(largest, std::abs(a[i].get<double>() - b[i].get<double>()));
  CHECK(largest > 0);
  CHECK(largest < 0.5);
  auto bad = run_aha_command("logprobs --model '" + base + "' " + ids + " --dtype fp8", tmp.path);
  CHECK(bad.code == 1);
  CHECK(bad.err.find("--dtype: 'fp8' is not a dtype") != std::string::npos);
  auto device = run_aha_command("generate --model '" + base + "' --prompt hi --device tpu", tmp.path);
  CHECK(device.code == 1);
  CHECK(device.err.find("--device: 'tpu'") != std::string::npos);
  auto gen = run_aha_command("generate --model '" + base + "' --prompt 'User: What is 2 + 3?' --max-new-tokens 8 --dtype bfloat16", tmp.path);
  CHECK(gen.code == 0);
  auto eval = run_aha_command("eval --model '" + base + "' --task arith --problems 2 --samples 1 --dtype bfloat16", tmp.path);
  CHECK(eval.code == 0);

  auto plan = run_aha_command("info --plan '" + std::string(AHA_SOURCE_DIR) + "/examples/tiny/grpo.json' --set model.path=" + base + " --set model.dtype=bfloat16", tmp.path);
  REQUIRE(plan.code == 0);
  const auto json_start = plan.out.find("{\n");
  REQUIRE(json_start != std::string::npos);
  const auto j = nlohmann::json::parse(plan.out.substr(json_start));
  CHECK(j["dtype"] == "bfloat16");
  for (const char* key : {"weights", "master_weights", "optimizer_moments", "gradients", "reference", "activations",
                          "activations_with_checkpointing", "activations_without_checkpointing", "kv_cache",
                          "logits_chunk", "training_micro_batch", "sampling", "runtime"})
    CHECK(j["bytes"].contains(key));
  CHECK(j["bytes"]["master_weights"].get<int64_t>() == 2 * j["bytes"]["weights"].get<int64_t>());
  auto both = run_aha_command("info --plan x.json --model '" + base + "'", tmp.path);
  CHECK(both.code == 1);
  CHECK(both.err.find("--plan takes the model from the config") != std::string::npos);
}

namespace {

std::vector<int64_t> token_ids(const Outcome& o) {
  return nlohmann::json::parse(o.out)["token_ids"].get<std::vector<int64_t>>();
}

std::vector<int64_t> concat(std::vector<int64_t> a, const std::vector<int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("aha tokenize and logprobs add BOS and EOS as tokenizer_config.json says, as before without it") {
  // Catches the BOS of config.json's bos_token_id still added when tokenizer_config.json says
  // add_bos_token false (DeepSeek's wheel copy), or not added when it says true.
  aha::testing::TempDir tmp("cli-bos");
  const auto model = tmp.path / "model";
  std::filesystem::create_directories(model);
  const auto fixture = std::filesystem::path(AHA_SOURCE_DIR) / "tests/fixtures/hf_deepseek_v3";
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"})
    std::filesystem::copy_file(fixture / f, model / f);
  const auto body =
      aha::policy::Tokenizer::load(model / "tokenizer.json").encode("12+3");  // no special tokens
  const int64_t endoftext = 0;  // "<|endoftext|>" of the tiny tokenizer
  auto tokenize = [&](const std::string& extra) {
    return run_aha_command("tokenize --model model --text 12+3" + extra, tmp.path);
  };
  auto logprobs = [&](const std::string& extra) {
    return run_aha_command("logprobs --model model --text 12+3" + extra, tmp.path);
  };

  // no tokenizer_config.json: tokenize adds nothing, logprobs adds config.json's bos_token_id (null here,
  // then 0)
  CHECK(token_ids(tokenize("")) == body);
  CHECK(token_ids(logprobs("")) == body);
  auto config = nlohmann::json::parse(read_text(model / "config.json"));
  config["bos_token_id"] = endoftext;
  write(model / "config.json", config.dump(2));
  CHECK(token_ids(logprobs("")) == concat({endoftext}, body));
  CHECK(token_ids(logprobs(" --no-bos")) == body);

  // tokenizer_config.json decides over config.json
  write(model / "tokenizer_config.json",
        R"({"bos_token": {"content": "<|endoftext|>"}, "add_bos_token": false})");
  CHECK(token_ids(logprobs("")) == body);
  CHECK(token_ids(tokenize("")) == body);
  write(model / "tokenizer_config.json", R"({"bos_token": "<|endoftext|>", "add_bos_token": true})");
  CHECK(token_ids(tokenize("")) == concat({endoftext}, body));
  CHECK(token_ids(logprobs("")) == concat({endoftext}, body));
  CHECK(token_ids(tokenize(" --no-bos")) == body);
  CHECK(token_ids(logprobs(" --no-bos")) == body);
  write(
      model / "tokenizer_config.json",
      R"({"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "add_bos_token": true, "add_eos_token": true})");
  CHECK(token_ids(tokenize("")) == concat(concat({endoftext}, body), {endoftext}));

  write(model / "tokenizer_config.json", R"({"bos_token": "<s>", "add_bos_token": true})");
  for (const auto& out : {tokenize(""), logprobs("")}) {
    INFO(out.err);
    CHECK(out.code != 0);
    CHECK(count_lines(out.err) == 1);
    CHECK(out.err.find("tokenizer_config.json: bos_token: '<s>' is not a token of the tokenizer") !=
          std::string::npos);
  }
}

TEST_CASE("aha tokenize --chat renders the real DeepSeek-R1 template to transformers' text and ids") {
  // The model directory's tokenizer.json (gzip-compressed, which the loader reads as it is) and
  // tokenizer_config.json are the real DeepSeek ones; the golden is apply_chat_template's for one user
  // message with the generation prompt (tests/fixtures/chat_templates/cases.json).
  const auto fixtures = std::filesystem::path(AHA_SOURCE_DIR) / "tests/fixtures";
  aha::testing::TempDir tmp("cli-chat");
  const auto model = tmp.path / "model";
  std::filesystem::create_directories(model);
  std::filesystem::copy_file(fixtures / "real_tokenizers/deepseek_v3.tokenizer.json.gz",
                             model / "tokenizer.json");
  std::filesystem::copy_file(fixtures / "chat_templates/deepseek_r1.tokenizer_config.json",
                             model / "tokenizer_config.json");
  auto cases = nlohmann::json::parse(read_text(fixtures / "chat_templates/cases.json"));
  REQUIRE(cases["conversations"][0] ==
          nlohmann::json::parse(R"([{"role": "user", "content": "What is 2+2?"}])"));
  nlohmann::json golden;
  for (const auto& r : cases["renders"])
    if (r["config"] == "deepseek_r1" && r["conversation"] == 0 && r["add_generation_prompt"] == true)
      golden = r;
  REQUIRE(golden.is_object());

  auto out = run_aha_command("tokenize --model model --chat --text 'What is 2+2?'", tmp.path);
  INFO(out.err);
  REQUIRE(out.code == 0);
  auto j = nlohmann::json::parse(out.out);
  CHECK(j["text"] == golden["text"]);  // "<｜begin▁of▁sentence｜><｜User｜>What is 2+2?<｜Assistant｜>"
  CHECK(j["token_ids"] == golden["ids"]);
  auto no_bos = run_aha_command("tokenize --model model --chat --no-bos --text hi", tmp.path);
  CHECK(no_bos.code != 0);
  CHECK(no_bos.err.find("--no-bos: not with --chat") != std::string::npos);
}

TEST_CASE("aha generate --chat feeds the model the chat-rendered prompt, errors without a known template") {
  aha::testing::TempDir tmp("cli-generate-chat");
  aha::testing::make_tiny_policy(tmp.path / "model");
  const std::string args = "generate --model model --temperature 0 --max-new-tokens 6 ";

  auto missing = run_aha_command(args + "--prompt hi --chat", tmp.path);
  CHECK(missing.code != 0);
  CHECK(count_lines(missing.err) == 1);
  CHECK(missing.err.find("tokenizer_config.json: not found; --chat needs the model's chat template") !=
        std::string::npos);
  CHECK(missing.err.find("r1zero") != std::string::npos);

  write(tmp.path / "model/tokenizer_config.json", R"({"chat_template": "{{ messages[0]['content'] }}"})");
  auto unknown = run_aha_command(args + "--prompt hi --chat", tmp.path);
  CHECK(unknown.code != 0);
  CHECK(count_lines(unknown.err) == 1);
  CHECK(unknown.err.find("tokenizer_config.json: chat_template: unrecognised chat template") !=
        std::string::npos);
  CHECK(unknown.err.find("r1zero") != std::string::npos);

  // Qwen2's real tokenizer_config.json: its special tokens are "<|endoftext|>", which the tiny tokenizer has
  std::filesystem::copy_file(
      std::filesystem::path(AHA_SOURCE_DIR) / "tests/fixtures/chat_templates/qwen2.tokenizer_config.json",
      tmp.path / "model/tokenizer_config.json", std::filesystem::copy_options::overwrite_existing);
  auto chat = run_aha_command(args + "--prompt hi --chat", tmp.path);
  INFO(chat.err);
  REQUIRE(chat.code == 0);
  auto chat_json = nlohmann::json::parse(chat.out);
  const std::string rendered = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";
  CHECK(chat_json["chat_prompt"] == rendered);
  CHECK(chat_json["prompt"] == "hi");
  // the same greedy completion as for the rendered text given as a plain prompt (passed through the
  // environment: the shell would drop its trailing newline from a command substitution)
  ::setenv("AHA_TEST_PROMPT", rendered.c_str(), 1);
  auto plain = run_aha_command(args + "--prompt \"$AHA_TEST_PROMPT\"", tmp.path);
  ::unsetenv("AHA_TEST_PROMPT");
  REQUIRE(plain.code == 0);
  auto plain_json = nlohmann::json::parse(plain.out);
  CHECK(plain_json["prompt"] == rendered);
  CHECK(chat_json["token_ids"] == plain_json["token_ids"]);
  CHECK(chat_json["completion"] == plain_json["completion"]);
}

TEST_CASE("aha convert writes bf16 shards that load back as the bf16-rounded weights and aha info names GQA") {
  // The Qwen2 fixture (transformers-written, tied embeddings) through the real executable: 100KB shards
  // give several files plus an index, every tensor equals the original rounded to bf16, config.json says
  // bfloat16, and bad --dtype / --max-shard-size values are one-line errors.
  aha::testing::TempDir root_tmp("convert");
  auto root = root_tmp.path;
  const auto fixture = std::filesystem::path(AHA_SOURCE_DIR) / "tests/fixtures/hf_qwen2";
  auto out = run_aha_command("convert --model '" + fixture.string() + "' --out out --dtype bfloat16 --max-shard-size 100KB",
                     root);
  REQUIRE(out.code == 0);
  CHECK(std::filesystem::exists(root / "out/model.safetensors.index.json"));
  CHECK(std::filesystem::exists(root / "out/model-00001-of-00002.safetensors"));
  auto config = nlohmann::json::parse(read_text(root / "out/config.json"));
  CHECK(config["torch_dtype"] == "bfloat16");
  CHECK(config["model_type"] == "qwen2");
  auto original = aha::policy::load_safetensors(fixture / "model.safetensors");
  auto converted = aha::policy::load_checkpoint_tensors(root / "out");
  REQUIRE(converted.size() == original.size());
  for (const auto& [name, t] : original) {
    INFO(name);
    CHECK(converted.at(name).scalar_type() == torch::kBFloat16);
    CHECK(torch::equal(converted.at(name), t.to(torch::kBFloat16)));
  }
  auto info = run_aha_command("info --model out", root);
  REQUIRE(info.code == 0);
  auto j = nlohmann::json::parse(info.out);
  CHECK(j["architecture"]["attention"] == "GQA");
  CHECK(j["architecture"]["kv_heads"] == 2);
  CHECK(j["kv_cache_bytes_per_token"]["bf16"] == 2 * 2 * 2 * 16 * 2);  // layers · (K + V) · kv_heads · head_dim · 2 bytes

  auto bad = run_aha_command("convert --model '" + fixture.string() + "' --out x --dtype int8", root);
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Catch::Contains("--dtype") && Catch::Contains("bfloat16"));
  CHECK(count_lines(bad.err) == 1);
  bad = run_aha_command("convert --model '" + fixture.string() + "' --out x --max-shard-size 5XB", root);
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Catch::Contains("--max-shard-size") && Catch::Contains("5XB"));
  CHECK_FALSE(std::filesystem::exists(root / "x"));
}

TEST_CASE("aha score writes one line per case in order with reward and rules and error plus a summary on stderr") {
  aha::testing::TempDir root_tmp("score");
  auto root = root_tmp.path;
  // gsm8k: right, wrong, right with thousands separator; then a row whose ground truth is not a number
  write(root / "gsm.jsonl",
        R"({"completion": "3 + 4 = 7. The answer is 7.", "answer": "#### 7"}
{"completion": "I think it is 8", "answer": "#### 7"}

{"completion": "So she pays $1,000 in total.", "answer": "Total: 1000\n#### 1,000"}
{"completion": "42", "answer": "no number here"}
)");
  auto out = run_aha_command("score --reward gsm8k --in gsm.jsonl --out results.jsonl", root);
  REQUIRE(out.code == 0);
  std::vector<nlohmann::json> results;
  std::ifstream in(root / "results.jsonl");
  for (std::string line; std::getline(in, line);) results.push_back(nlohmann::json::parse(line));
  REQUIRE(results.size() == 4);  // the blank line is skipped
  CHECK(results[0]["reward"] == 1.0);
  CHECK(results[0]["rules"]["gsm8k"] == 1.0);
  CHECK(results[1]["reward"] == 0.0);
  CHECK(results[2]["reward"] == 1.0);
  CHECK_FALSE(results[2].contains("error"));
  CHECK(results[3]["reward"] == 0.0);
  CHECK_THAT(results[3]["error"].get<std::string>(), Catch::Contains("gsm8k"));
  auto last_line = out.err.substr(out.err.rfind('\n', out.err.size() - 2) + 1);  // the summary is the last line
  auto summary = nlohmann::json::parse(last_line);
  CHECK(summary["cases"] == 4);
  CHECK(summary["errors"] == 1);
  CHECK(summary["reward_mean"] == Approx(0.5));

  // a rubric file; countdown reads numbers/target and the code rule prompt/test/entry_point from the line
  write(root / "rubric.json", R"({"rules": [{"name": "countdown"}, {"name": "format", "weight": 0.5}]})");
  write(root / "cd.jsonl",
        R"({"completion": "<think>ok</think> <answer>(3 + 5) * 7 - 2</answer>", "numbers": [3, 5, 7, 2], "target": 54}
{"completion": "<think>ok</think> <answer>2**3 + 46</answer>", "numbers": [3, 5, 7, 2], "target": 54}
)");
  out = run_aha_command("score --reward rubric.json --in cd.jsonl", root);
  REQUIRE(out.code == 0);
  std::istringstream lines_out(out.out);
  std::string first, second;
  std::getline(lines_out, first);
  std::getline(lines_out, second);
  CHECK(nlohmann::json::parse(first)["rules"]["countdown"] == 1.0);
  CHECK(nlohmann::json::parse(first)["reward"] == Approx(1.0 + 0.5 * nlohmann::json::parse(first)["rules"]["format"].get<double>()));
  CHECK(nlohmann::json::parse(second)["rules"]["countdown"] == 0.0);

  write(root / "code.jsonl",
        R"({"completion": "def add(a, b):\n    return a + b\n", "prompt": "def add(a, b):\n", "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n", "entry_point": "add"}
{"completion": "def add(a, b):\n    return a - b\n", "prompt": "def add(a, b):\n", "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n", "entry_point": "add"}
)");
  out = run_aha_command("score --reward code --in code.jsonl --workers 2", root);
  REQUIRE(out.code == 0);
  std::istringstream code_out(out.out);
  std::getline(code_out, first);
  std::getline(code_out, second);
  CHECK(nlohmann::json::parse(first)["reward"] == 1.0);
  CHECK(nlohmann::json::parse(second)["reward"] == 0.0);

  // bad input: one-line errors naming the file and line, or the rule and what is known
  write(root / "bad.jsonl", "{\"completion\": \"x\", \"answer\": \"1\"}\n{\"answer\": \"1\"}\n");
  out = run_aha_command("score --reward math --in bad.jsonl", root);
  CHECK(out.code == 1);
  CHECK_THAT(out.err, Catch::Contains("bad.jsonl:2") && Catch::Contains("completion"));
  CHECK(count_lines(out.err) == 1);
  out = run_aha_command("score --reward nope --in gsm.jsonl", root);
  CHECK(out.code == 1);
  CHECK_THAT(out.err, Catch::Contains("'nope'") && Catch::Contains("gsm8k"));
}

TEST_CASE("aha eval --responses reproduces hand-computed pass@k and maj@k on the fixture") {
  // tests/fixtures/eval_responses.jsonl, graded by the math rule, four responses per problem:
  //   half    (1/2):     0.5 ok, \frac{1}{2} ok, 3, no answer  c=2  majority 0.5 (2 votes, equivalent) ok
  //   seven   (7):       5, 7 ok, 5, 7 ok                      c=2  tie 5 vs 7 -> 5 came first: wrong
  //   twelve  (12):      11, 13 (length), 12 ok, 11            c=1  majority 11: wrong
  //   squares (x^2-4):   (x-2)(x+2) ok, x^2-4 ok, x^2+4, x^2+4 c=2  tie of equivalence groups -> first: ok
  // pass@1 = (2 + 2 + 1 + 2) / 16 = 0.4375
  // pass@2 = mean(1 - C(2,2)/C(4,2) = 5/6, 5/6, 1 - C(3,2)/C(4,2) = 1/2, 5/6) = 0.75;  pass@4 = 1
  // maj@4 = (1 + 0 + 0 + 1) / 4 = 0.5;  format: three R1-format responses of 16;  truncation: 1 of the 4
  // responses that give a finish reason.
  aha::testing::TempDir tmp("cli-eval-responses");
  const std::string fixture = std::string(AHA_SOURCE_DIR) + "/tests/fixtures/eval_responses.jsonl";
  auto out = run_aha_command("eval --responses '" + fixture + "' --task math --out per_problem.jsonl", tmp.path);
  INFO(out.err);
  REQUIRE(out.code == 0);
  const auto summary = nlohmann::json::parse(out.out);
  CHECK(summary["pass@1"] == Approx(0.4375));
  CHECK(summary["pass@2"] == Approx(0.75));
  CHECK(summary["pass@4"] == Approx(1.0));
  CHECK(summary["maj@4"] == Approx(0.5));
  CHECK(summary["format_rate"] == Approx(3.0 / 16.0));
  CHECK(summary["truncation_rate"] == Approx(0.25));
  CHECK(summary["problems"] == 4);
  CHECK(summary["samples"] == 16);
  CHECK(summary["length_unit"] == "bytes");
  CHECK(summary["min_length"] == 9);   // "\boxed{5}"
  CHECK(summary["max_length"] == 64);  // the formatted (x-2)(x+2) response
  std::vector<nlohmann::json> rows;
  std::ifstream in(tmp.path / "per_problem.jsonl");
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0]["id"] == "half");
  CHECK(rows[0]["canonical"] == nlohmann::json::array({"0.5", "\\frac{1}{2}", "3", nullptr}));
  CHECK(rows[0]["majority_answer"] == "0.5");
  CHECK(rows[1]["majority_answer"] == "5");
  CHECK(rows[1]["majority_correct"] == false);
  CHECK(rows[2]["answer"] == "12");
  CHECK(rows[2]["pass@2"] == Approx(0.5));
  CHECK(rows[2]["finish_reason"] == nlohmann::json::array({"eos", "length", "stop", "eos"}));
  CHECK(rows[3]["majority_answer"] == "(x-2)(x+2)");
  CHECK(rows[3]["majority_votes"] == 2);
  CHECK(rows[3]["correct"] == nlohmann::json::array({true, true, false, false}));

  // the same file graded as the integer rule would: x^2 - 4 is not an integer ground truth
  auto integer = run_aha_command("eval --responses '" + fixture + "' --task aime24", tmp.path);
  REQUIRE(integer.code == 0);
  CHECK(nlohmann::json::parse(integer.out)["verifier"] == "integer");
}

TEST_CASE("aha eval --responses errors name the file line and field") {
  aha::testing::TempDir tmp("cli-eval-bad");
  struct Case {
    std::string text, expect;
  };
  const std::vector<Case> cases = {
      {"{\"answer\": \"1\", \"responses\": [\"a\"]}\n{\"responses\": [\"a\"]}\n", "r.jsonl:2: field 'answer'"},
      {"{\"answer\": \"1\", \"responses\": []}\n", "r.jsonl:1: field 'responses': expected a non-empty array"},
      {"{\"answer\": \"1\", \"responses\": [\"a\", 3]}\n", "r.jsonl:1: field 'responses[1]'"},
      {"{\"answer\": \"1\", \"responses\": [\"a\", \"b\"]}\n{\"answer\": \"2\", \"responses\": [\"a\"]}\n",
       "r.jsonl:2: field 'responses': 1 responses, but the first problem has 2"},
      {"{\"answer\": \"1\", \"responses\": [{\"text\": \"a\", \"tokens\": -1}]}\n", "r.jsonl:1: field 'responses[0].tokens'"},
      {"not json\n", "r.jsonl:1: invalid JSON"},
  };
  for (const Case& c : cases) {
    write(tmp.path / "r.jsonl", c.text);
    auto out = run_aha_command("eval --responses r.jsonl --task math", tmp.path);
    INFO(c.text);
    CHECK(out.code == 1);
    CHECK(count_lines(out.err) == 1);
    CHECK_THAT(out.err, Catch::Contains(c.expect));
  }
  write(tmp.path / "r.jsonl", "{\"answer\": \"1\", \"responses\": [\"a\"]}\n");
  auto no_verifier = run_aha_command("eval --responses r.jsonl", tmp.path);
  CHECK(no_verifier.code == 1);
  CHECK_THAT(no_verifier.err, Catch::Contains("--task math|gsm8k|integer|code"));
}

TEST_CASE("aha eval on a benchmark file and --compare of two models on the same problems and seeds") {
  aha::testing::TempDir tmp("cli-eval-model");
  aha::testing::make_tiny_policy(tmp.path / "model");
  write(tmp.path / "gsm.jsonl",
        "{\"question\": \"What is 2 + 2?\", \"answer\": \"2 + 2 = 4\\n#### 4\"}\n"
        "{\"question\": \"What is 3 + 3?\", \"answer\": \"#### 6\"}\n"
        "{\"question\": \"What is 1 + 1?\", \"answer\": \"#### 2\"}\n");
  const std::string args = "eval --model model --benchmark gsm8k --data gsm.jsonl --problems 2 --samples 2 "
                           "--max-new-tokens 4 --out pp.jsonl --template compact";  // r1zero is longer than the tiny context
  auto one = run_aha_command(args, tmp.path);
  INFO(one.err);
  REQUIRE(one.code == 0);
  const auto summary = nlohmann::json::parse(one.out);
  CHECK(summary["benchmark"] == "gsm8k");
  CHECK(summary["verifier"] == "gsm8k");
  CHECK(summary["problems"] == 2);  // --problems 2 of the file's 3
  CHECK(summary["samples"] == 4);
  CHECK(summary["temperature"] == Approx(0.6));  // DeepSeek-R1's sampling by default
  CHECK(summary["top_p"] == Approx(0.95));
  CHECK(summary["template"] == "compact");
  CHECK(summary.contains("maj@2"));
  CHECK(summary["max_length"] <= 4);
  CHECK(summary["length_unit"] == "tokens");
  std::ifstream in(tmp.path / "pp.jsonl");
  std::string first_line;
  std::getline(in, first_line);
  CHECK(nlohmann::json::parse(first_line)["answer"] == "4");
  CHECK(nlohmann::json::parse(first_line)["id"] == "gsm8k/0");

  // Two different models, the tiny random one before and the pretrained example after: "after" is exactly
  // what a separate eval of the second model gives with the same flags (same problems, same seeds), and the
  // two sides differ. Catches a --compare that evaluates the first model twice, or reuses its samples.
  const std::string base = (std::filesystem::path(AHA_SOURCE_DIR) / "examples/tiny/base").string();
  // Stopping at the first space makes the lengths depend on the model: the pretrained one starts its answer
  // with a space and stops after one token, the random one rarely samples a space (measured 1.0 vs 9.33).
  const std::string flags = " --task arith --problems 3 --samples 2 --max-new-tokens 12 --stop ' '";
  auto both = run_aha_command("eval --model model --compare '" + base + "'" + flags, tmp.path);
  INFO(both.err);
  REQUIRE(both.code == 0);
  auto alone = run_aha_command("eval --model '" + base + "'" + flags, tmp.path);
  INFO(alone.err);
  REQUIRE(alone.code == 0);
  auto pair = nlohmann::json::parse(both.out);
  auto separate = nlohmann::json::parse(alone.out);
  for (auto* summary : {&pair["before"], &pair["after"], &separate})
    for (const char* timing : {"seconds", "tokens_per_second"}) summary->erase(timing);
  CHECK(pair["after"] == separate);
  CHECK(pair["before"]["model"] == "model");
  CHECK(pair["after"]["model"] == base);
  INFO("before " << pair["before"].dump() << "\nafter " << pair["after"].dump());
  CHECK((pair["before"]["pass@1"] != pair["after"]["pass@1"] ||
         pair["before"]["mean_length"] != pair["after"]["mean_length"]));
  CHECK(pair["before"]["temperature"] == Approx(1.0));  // arith keeps the trainer's eval settings
  CHECK(pair["before"]["template"] == "compact");
  CHECK_THAT(both.err, Catch::Contains("pass@1") && Catch::Contains("maj@2") && Catch::Contains(base));

  auto chat = run_aha_command("eval --model model --task arith --problems 1 --samples 1 --template chat", tmp.path);
  CHECK(chat.code == 1);
  CHECK(count_lines(chat.err) == 1);
  CHECK_THAT(chat.err, Catch::Contains("model/tokenizer_config.json: not found; --template chat needs"));
  auto neither = run_aha_command("eval --model model", tmp.path);
  CHECK(neither.code == 1);
  CHECK_THAT(neither.err, Catch::Contains("exactly one of --task arith, --benchmark"));
}

TEST_CASE("aha pretrain corpus: data.problems cycles through that many problems with a fresh demonstration each time") {
  aha::testing::TempDir tmp("cli-pretrain-corpus");
  const auto root = tmp.path;
  const std::string source(AHA_SOURCE_DIR);
  // The Countdown example's pretraining config with its data section replaced.
  auto config = [&](const std::string& task, const nlohmann::json& data_extra) {
    nlohmann::json c = nlohmann::json::parse(read_text(source + "/examples/countdown/pretrain.json"));
    c["tokenizer"] = source + "/examples/countdown/tokenizer.json";
    c["data"] = {{"task", task}, {"seed", 3}};
    c["data"].update(data_extra);
    return c.dump();
  };
  write(root / "cycle.json",
        config("countdown", {{"problems", 5}, {"noise", {{"wrong_step_prob", 0.5}, {"broken_format_prob", 0}}}}));
  Outcome out = run_aha_command("pretrain --config cycle.json --dump-corpus 15 --out corpus.txt", root);
  INFO(out.err);
  REQUIRE(out.code == 0);
  std::vector<std::string> prompts, docs;
  std::istringstream corpus(read_text(root / "corpus.txt"));
  for (std::string line; std::getline(corpus, line);) {
    if (line.rfind("User: ", 0) == 0) prompts.push_back(line);
    else docs.push_back(line);
  }
  REQUIRE(prompts.size() == 15);
  REQUIRE(docs.size() == 15);
  std::set<std::string> distinct(prompts.begin(), prompts.end());
  CHECK(distinct.size() == 5);
  for (size_t i = 5; i < 15; ++i) CHECK(prompts[i] == prompts[i % 5]);
  // Repeats get their own draws: across 10 repeats at least one demonstration differs from its first.
  int differs = 0;
  for (size_t i = 5; i < 15; ++i) differs += docs[i] != docs[i % 5];
  CHECK(differs >= 5);

  write(root / "bad_problems.json", config("countdown", {{"problems", -1}}));
  out = run_aha_command("pretrain --config bad_problems.json --dump-corpus 2 --out c.txt", root);
  CHECK(out.code == 1);
  CHECK(count_lines(out.err) == 1);
  CHECK(out.err.find("data.problems must be >= 0") != std::string::npos);

  write(root / "arith_give_up.json", config("arith", {{"noise", {{"give_up_prob", 0.5}}}}));
  out = run_aha_command("pretrain --config arith_give_up.json --dump-corpus 2 --out c.txt", root);
  CHECK(out.code == 1);
  CHECK(count_lines(out.err) == 1);
  CHECK(out.err.find("arith_give_up.json: data.noise.give_up_prob: only the countdown task") != std::string::npos);
}
