// Bad input through the real executable: each case exits non-zero with a one-line error naming the file
// or key, and leaves no run directory behind.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "tests/common/tiny_model.h"

namespace {

struct Outcome {
  int code;
  std::string err;
};

Outcome run_aha(const std::string& args, const std::filesystem::path& cwd) {
  auto err_file = cwd / "stderr.txt";
  std::string cmd = "cd '" + cwd.string() + "' && '" + AHA_BINARY + "' " + args + " > /dev/null 2> '" +
                    err_file.string() + "'";
  int status = std::system(cmd.c_str());
  std::ifstream in(err_file);
  std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return {WEXITSTATUS(status), err};
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
