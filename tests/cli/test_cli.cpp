// The real executable: bad input exits non-zero with a one-line error naming the file or key and leaves no
// run directory behind; logprobs matches HF; tokenize/logprobs add BOS/EOS as tokenizer_config.json says;
// --chat renders the model's chat template.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "policy/safetensors.h"
#include "policy/tokenizer.h"
#include "tests/common/tiny_model.h"

namespace {

struct Outcome {
  int code;
  std::string err;
  std::string out;
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Outcome run_aha(const std::string& args, const std::filesystem::path& cwd) {
  auto err_file = cwd / "stderr.txt", out_file = cwd / "stdout.txt";
  std::string cmd = "cd '" + cwd.string() + "' && '" + AHA_BINARY + "' " + args + " > '" + out_file.string() +
                    "' 2> '" + err_file.string() + "'";
  int status = std::system(cmd.c_str());
  return {WEXITSTATUS(status), slurp(err_file), slurp(out_file)};
}

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

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
    auto out = run_aha("train --config run.json", root);
    INFO(c.name << ": " << out.err);
    CHECK(out.code != 0);
    CHECK(lines(out.err) == 1);
    CHECK(out.err.find(c.expect) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(root / "runs"));
  }
  // a truncated checkpoint file is named in the error
  std::filesystem::resize_file(root / "model/model.safetensors", 100);
  write(root / "run.json", good);
  auto out = run_aha("train --config run.json", root);
  CHECK(out.code != 0);
  CHECK(lines(out.err) == 1);
  CHECK(out.err.find("model.safetensors") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(root / "runs"));
  auto eval = run_aha("eval --model model --task nothing", root);
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
  auto out = run_aha("logprobs --model '" + fixture.string() + "' --ids " + csv, tmp.path);
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

  auto bad = run_aha("logprobs --model '" + fixture.string() + "' --ids 1,x", tmp.path);
  CHECK(bad.code != 0);
  CHECK(bad.err.find("--ids: 'x' is not an integer") != std::string::npos);
  auto tok = run_aha("tokenize --model '" + fixture.string() + "' --text 'What is 12 + 3?'", tmp.path);
  REQUIRE(tok.code == 0);
  CHECK(nlohmann::json::parse(tok.out)["token_ids"].size() > 5);
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
    return run_aha("tokenize --model model --text 12+3" + extra, tmp.path);
  };
  auto logprobs = [&](const std::string& extra) {
    return run_aha("logprobs --model model --text 12+3" + extra, tmp.path);
  };

  // no tokenizer_config.json: tokenize adds nothing, logprobs adds config.json's bos_token_id (null here,
  // then 0)
  CHECK(token_ids(tokenize("")) == body);
  CHECK(token_ids(logprobs("")) == body);
  auto config = nlohmann::json::parse(slurp(model / "config.json"));
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
    CHECK(lines(out.err) == 1);
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
  auto cases = nlohmann::json::parse(slurp(fixtures / "chat_templates/cases.json"));
  REQUIRE(cases["conversations"][0] ==
          nlohmann::json::parse(R"([{"role": "user", "content": "What is 2+2?"}])"));
  nlohmann::json golden;
  for (const auto& r : cases["renders"])
    if (r["config"] == "deepseek_r1" && r["conversation"] == 0 && r["add_generation_prompt"] == true)
      golden = r;
  REQUIRE(golden.is_object());

  auto out = run_aha("tokenize --model model --chat --text 'What is 2+2?'", tmp.path);
  INFO(out.err);
  REQUIRE(out.code == 0);
  auto j = nlohmann::json::parse(out.out);
  CHECK(j["text"] == golden["text"]);  // "<｜begin▁of▁sentence｜><｜User｜>What is 2+2?<｜Assistant｜>"
  CHECK(j["token_ids"] == golden["ids"]);
  auto no_bos = run_aha("tokenize --model model --chat --no-bos --text hi", tmp.path);
  CHECK(no_bos.code != 0);
  CHECK(no_bos.err.find("--no-bos: not with --chat") != std::string::npos);
}

TEST_CASE("aha generate --chat feeds the model the chat-rendered prompt, errors without a known template") {
  aha::testing::TempDir tmp("cli-generate-chat");
  aha::testing::make_tiny_policy(tmp.path / "model");
  const std::string args = "generate --model model --temperature 0 --max-new-tokens 6 ";

  auto missing = run_aha(args + "--prompt hi --chat", tmp.path);
  CHECK(missing.code != 0);
  CHECK(lines(missing.err) == 1);
  CHECK(missing.err.find("tokenizer_config.json: not found; --chat needs the model's chat template") !=
        std::string::npos);
  CHECK(missing.err.find("r1zero") != std::string::npos);

  write(tmp.path / "model/tokenizer_config.json", R"({"chat_template": "{{ messages[0]['content'] }}"})");
  auto unknown = run_aha(args + "--prompt hi --chat", tmp.path);
  CHECK(unknown.code != 0);
  CHECK(lines(unknown.err) == 1);
  CHECK(unknown.err.find("tokenizer_config.json: chat_template: unrecognised chat template") !=
        std::string::npos);
  CHECK(unknown.err.find("r1zero") != std::string::npos);

  // Qwen2's real tokenizer_config.json: its special tokens are "<|endoftext|>", which the tiny tokenizer has
  std::filesystem::copy_file(
      std::filesystem::path(AHA_SOURCE_DIR) / "tests/fixtures/chat_templates/qwen2.tokenizer_config.json",
      tmp.path / "model/tokenizer_config.json", std::filesystem::copy_options::overwrite_existing);
  auto chat = run_aha(args + "--prompt hi --chat", tmp.path);
  INFO(chat.err);
  REQUIRE(chat.code == 0);
  auto chat_json = nlohmann::json::parse(chat.out);
  const std::string rendered = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";
  CHECK(chat_json["chat_prompt"] == rendered);
  CHECK(chat_json["prompt"] == "hi");
  // the same greedy completion as for the rendered text given as a plain prompt (passed through the
  // environment: the shell would drop its trailing newline from a command substitution)
  ::setenv("AHA_TEST_PROMPT", rendered.c_str(), 1);
  auto plain = run_aha(args + "--prompt \"$AHA_TEST_PROMPT\"", tmp.path);
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
  auto out = run_aha("convert --model '" + fixture.string() + "' --out out --dtype bfloat16 --max-shard-size 100KB",
                     root);
  REQUIRE(out.code == 0);
  CHECK(std::filesystem::exists(root / "out/model.safetensors.index.json"));
  CHECK(std::filesystem::exists(root / "out/model-00001-of-00002.safetensors"));
  auto config = nlohmann::json::parse(slurp(root / "out/config.json"));
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
  auto info = run_aha("info --model out", root);
  REQUIRE(info.code == 0);
  auto j = nlohmann::json::parse(info.out);
  CHECK(j["architecture"]["attention"] == "GQA");
  CHECK(j["architecture"]["kv_heads"] == 2);
  CHECK(j["kv_cache_bytes_per_token"]["bf16"] == 2 * 2 * 2 * 16 * 2);  // layers · (K + V) · kv_heads · head_dim · 2 bytes

  auto bad = run_aha("convert --model '" + fixture.string() + "' --out x --dtype int8", root);
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Catch::Contains("--dtype") && Catch::Contains("bfloat16"));
  CHECK(lines(bad.err) == 1);
  bad = run_aha("convert --model '" + fixture.string() + "' --out x --max-shard-size 5XB", root);
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
  auto out = run_aha("score --reward gsm8k --in gsm.jsonl --out results.jsonl", root);
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
  out = run_aha("score --reward rubric.json --in cd.jsonl", root);
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
  out = run_aha("score --reward code --in code.jsonl --workers 2", root);
  REQUIRE(out.code == 0);
  std::istringstream code_out(out.out);
  std::getline(code_out, first);
  std::getline(code_out, second);
  CHECK(nlohmann::json::parse(first)["reward"] == 1.0);
  CHECK(nlohmann::json::parse(second)["reward"] == 0.0);

  // bad input: one-line errors naming the file and line, or the rule and what is known
  write(root / "bad.jsonl", "{\"completion\": \"x\", \"answer\": \"1\"}\n{\"answer\": \"1\"}\n");
  out = run_aha("score --reward math --in bad.jsonl", root);
  CHECK(out.code == 1);
  CHECK_THAT(out.err, Catch::Contains("bad.jsonl:2") && Catch::Contains("completion"));
  CHECK(lines(out.err) == 1);
  out = run_aha("score --reward nope --in gsm.jsonl", root);
  CHECK(out.code == 1);
  CHECK_THAT(out.err, Catch::Contains("'nope'") && Catch::Contains("gsm8k"));
}
