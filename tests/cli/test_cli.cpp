// Bad input through the real executable: each case exits non-zero with a one-line error naming the file
// or key, and leaves no run directory behind.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "policy/safetensors.h"
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
