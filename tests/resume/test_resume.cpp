// Exact resume, end to end through the real `aha` executable on the demo base (examples/tiny/base): a
// run killed with SIGKILL at any moment, then `aha train --resume RUN_DIR`, ends with metrics (every key
// but timing/* and perf/*), samples and final weights identical, bit for bit, to a run never interrupted.
// Kill points (AHA_FAULT, grpo/faults.h): mid-step after the rollout, after a step's metrics were
// logged but before its checkpoint, during a checkpoint write (files written, not yet renamed), after the
// rename but before `latest` moved, at an epoch boundary (train_size 12 = 3 steps of 4 prompts), twice in
// one run, a SIGKILL from outside at a time-dependent moment, and SIGTERM (graceful: a checkpoint, exit 143).
// Also the non-finite guard: a NaN loss skips updates and K bad steps in a row stop with a checkpoint.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/common/run_aha.h"
#include "tests/common/temp_dir.h"

namespace fs = std::filesystem;

namespace {

const int64_t kSteps = 8;

std::string config_text(const fs::path& output_dir, const nlohmann::json& model_extra = nlohmann::json::object(),
                        const nlohmann::json& train_extra = nlohmann::json::object()) {
  nlohmann::json j = {
      {"model", {{"path", std::string(AHA_SOURCE_DIR) + "/examples/tiny/base"}}},
      {"data", {{"task", "arith"}, {"options", {{"min_terms", 2}, {"max_terms", 3}, {"max_operand", 99}}},
                {"template", "compact"}, {"seed", 11}, {"train_size", 12}}},
      {"rollout", {{"prompts_per_step", 4}, {"group_size", 4}, {"max_new_tokens", 48}}},
      {"rewards", {{"rules", {{{"name", "accuracy"}, {"weight", 1.0}}, {{"name", "format"}, {"weight", 0.5}}}}}},
      // beta > 0 with a reference refresh every 3 steps: the reference is state a resume must restore
      {"grpo", {{"preset", "grpo"}, {"beta", 0.04}, {"mu", 2}, {"minibatches", 2}, {"ref_refresh_steps", 3}}},
      {"train", {{"steps", kSteps}, {"lr", 2e-4}, {"warmup_steps", 2}, {"save_every", 2}, {"keep_checkpoints", 2},
                 {"eval_problems", 4}, {"eval_samples", 2}, {"eval_every", 4}, {"threads", 1},
                 {"output_dir", output_dir.string()}, {"run_name", "run"}}}};
  j["model"].update(model_extra);
  j["train"].update(train_extra);
  return j.dump(2);
}

using aha::testing::wait_for_aha;
std::string slurp(const fs::path& p) { return aha::testing::read_text(p); }

// `aha train <args...>` with AHA_FAULT set (empty: none)
pid_t spawn(std::vector<std::string> args, const std::string& fault, const fs::path& log) {
  args.insert(args.begin(), "train");
  return aha::testing::spawn_aha(args, fault, log);
}

int run(const std::vector<std::string>& args, const std::string& fault, const fs::path& log) {
  return wait_for_aha(spawn(args, fault, log));
}

// metrics.jsonl without the keys that measure time
std::vector<nlohmann::json> training_metrics(const fs::path& run_dir) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(slurp(run_dir / "metrics.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    for (auto it = j.begin(); it != j.end();)
      it = it.key().rfind("timing/", 0) == 0 || it.key().rfind("perf/", 0) == 0 ? j.erase(it) : std::next(it);
    rows.push_back(j);
  }
  return rows;
}

struct Outcome {
  std::vector<nlohmann::json> metrics;
  std::string samples, weights;
  nlohmann::json eval_after;
};

Outcome outcome(const fs::path& run_dir) {
  auto summary = nlohmann::json::parse(slurp(run_dir / "summary.json"));
  auto after = summary["eval_after"];  // {"<eval set>": summary}, without the wall-clock fields
  for (auto& [name, set] : after.items()) {
    set.erase("seconds");
    set.erase("tokens_per_second");
  }
  return {training_metrics(run_dir), slurp(run_dir / "samples.jsonl"), slurp(run_dir / "final/model.safetensors"), after};
}

void check_same(const Outcome& a, const Outcome& b) {
  REQUIRE(a.metrics.size() == b.metrics.size());
  for (size_t i = 0; i < a.metrics.size(); ++i) {
    INFO("metrics line " << i + 1);
    CHECK(a.metrics[i].dump() == b.metrics[i].dump());
  }
  CHECK(a.samples == b.samples);
  CHECK(a.weights == b.weights);  // safetensors bytes: every weight and router bias, bit for bit
  CHECK(a.eval_after == b.eval_after);
}

}  // namespace

TEST_CASE("a run killed at any of 9 points resumes bit-identical to an uninterrupted run", "[resume]") {
  aha::testing::TempDir tmp("resume");
  std::ofstream(tmp / "run.json") << config_text(tmp.path / "reference");
  const fs::path log = tmp / "log.txt";
  REQUIRE(run({"--config", (tmp / "run.json").string()}, "", log) == 0);
  const Outcome reference = outcome(tmp / "reference/run");
  REQUIRE(reference.metrics.size() == kSteps + 1);  // the step-0 eval row + one row per step
  CHECK(reference.metrics[4]["epoch"] == 1);       // step 4 is the first of the second epoch
  CHECK(reference.metrics[4].contains("eval/arith/pass@1"));

  struct Case {
    std::string name;
    std::vector<std::string> faults;  // one run per entry, each killed at its point, then a final resume
  };
  const std::vector<Case> cases = {
      {"mid-step after the rollout", {"after-rollout@3"}},
      {"metrics logged, checkpoint not written", {"after-metrics@5"}},
      {"during a checkpoint write", {"checkpoint-write@4"}},
      {"checkpoint renamed but latest not moved", {"checkpoint-published@4"}},
      {"last step of an epoch", {"after-metrics@3"}},
      {"first step of the next epoch", {"after-rollout@4"}},
      {"killed twice", {"checkpoint-write@6", "after-rollout@7"}},
  };
  int index = 0;
  for (const auto& c : cases) {
    {
      INFO("kill case: " << c.name);
      const fs::path out = tmp.path / ("kill" + std::to_string(index));
      std::ofstream(tmp / "kill.json") << config_text(out);
      CHECK(run({"--config", (tmp / "kill.json").string()}, c.faults[0], log) == 128 + SIGKILL);
      for (size_t k = 1; k < c.faults.size(); ++k)
        CHECK(run({"--resume", (out / "run").string()}, c.faults[k], log) == 128 + SIGKILL);
      REQUIRE(run({"--resume", (out / "run").string()}, "", log) == 0);
      check_same(reference, outcome(out / "run"));
      // the newest K = 2 checkpoints are kept, and no leftovers of interrupted writes
      std::vector<std::string> names;
      for (const auto& e : fs::directory_iterator(out / "run/checkpoints")) names.push_back(e.path().filename());
      std::sort(names.begin(), names.end());
      CHECK(names == std::vector<std::string>{"latest", "step-6", "step-8"});
    }
    ++index;
  }

  {  // SIGKILL and SIGTERM from outside at a time-dependent moment
    for (int signal : {SIGKILL, SIGTERM}) {
      INFO("signal " << signal);
      const fs::path out = tmp.path / ("signal" + std::to_string(signal));
      std::ofstream(tmp / "sig.json") << config_text(out);
      const pid_t pid = spawn({"--config", (tmp / "sig.json").string()}, "", log);
      // wait until the first checkpoint exists, then signal (the moment within the run varies); the first
      // checkpoint is step 2 of 8, so the run is still going: a run that ended first cannot pass below
      for (int i = 0; i < 600 && !fs::exists(out / "run/checkpoints/latest"); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const bool had_checkpoint = fs::exists(out / "run/checkpoints/latest");
      if (!had_checkpoint) {  // leave no run going behind the failure
        ::kill(pid, SIGKILL);
        wait_for_aha(pid);
      }
      REQUIRE(had_checkpoint);
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      ::kill(pid, signal);
      const int code = wait_for_aha(pid);
      // SIGKILL: killed where it stood (137). SIGTERM: the trainer finishes its step, checkpoints and exits
      // 128 + 15 as the signal would have (cli/main.cpp, cmd_train).
      REQUIRE(code == 128 + signal);
      REQUIRE(run({"--resume", (out / "run").string()}, "", log) == 0);
      check_same(reference, outcome(out / "run"));
    }
  }
}

// bf16 weights train fp32 masters: a checkpoint must carry the masters (trainer_state.pt), or the resumed
// run continues from the rounded bf16 weights and drifts from the uninterrupted one. With gradient
// checkpointing and token-budget micro-batches on as well, so their state (none) is shown to be none.
TEST_CASE("a bf16 run killed mid-way resumes bit-identical, fp32 master weights included", "[resume]") {
  aha::testing::TempDir tmp("resume-bf16");
  const nlohmann::json model = {{"dtype", "bfloat16"}};
  const nlohmann::json train = {{"gradient_checkpointing", true}, {"micro_batch_tokens", 200}};
  std::ofstream(tmp / "run.json") << config_text(tmp.path / "reference", model, train);
  const fs::path log = tmp / "log.txt";
  REQUIRE(run({"--config", (tmp / "run.json").string()}, "", log) == 0);
  const Outcome reference = outcome(tmp / "reference/run");
  CHECK(slurp(tmp / "reference/run/final/config.json").find("\"bfloat16\"") != std::string::npos);
  std::ofstream(tmp / "kill.json") << config_text(tmp.path / "kill", model, train);
  CHECK(run({"--config", (tmp / "kill.json").string()}, "after-metrics@5", log) == 128 + SIGKILL);
  REQUIRE(run({"--resume", (tmp / "kill/run").string()}, "", log) == 0);
  check_same(reference, outcome(tmp / "kill/run"));
}

TEST_CASE("a non-finite loss skips the update and K bad steps in a row stop the run with a checkpoint",
          "[resume]") {
  aha::testing::TempDir tmp("guard");
  const fs::path log = tmp / "log.txt";
  std::ofstream(tmp / "run.json") << config_text(tmp.path / "out");
  // step 2's losses are all NaN: its 4 updates (mu 2 x minibatches 2) are skipped, the run goes on
  REQUIRE(run({"--config", (tmp / "run.json").string(), "--set", "train.steps=3"}, "nan@2", log) == 0);
  auto metrics = training_metrics(tmp / "out/run");
  REQUIRE(metrics.size() == 4);
  CHECK(metrics[1]["nonfinite/skipped_updates"] == 0);
  CHECK(metrics[2]["nonfinite/skipped_updates"] == 4);
  CHECK(metrics[2]["nonfinite/where"].get<std::string>().find("loss") != std::string::npos);
  CHECK(metrics[2]["optimizer_steps"] == metrics[1]["optimizer_steps"]);  // no update applied
  CHECK(metrics[3]["optimizer_steps"].get<int64_t>() == metrics[1]["optimizer_steps"].get<int64_t>() + 4);
  CHECK(std::isfinite(metrics[3]["loss"].get<double>()));

  // two bad steps in a row with max_bad_steps 2: stop after step 3 with a checkpoint and a message
  std::ofstream(tmp / "run2.json") << config_text(tmp.path / "out2");
  const int code = run({"--config", (tmp / "run2.json").string(), "--set", "train.max_bad_steps=2"}, "nan@2,nan@3", log);
  CHECK(code == 1);
  CHECK(slurp(log).find("2 steps in a row skipped a non-finite update") != std::string::npos);
  CHECK(slurp(tmp / "out2/run/checkpoints/latest") == "step-3\n");
  CHECK_FALSE(fs::exists(tmp / "out2/run/final"));

  // a damaged trainer state is a one-line error naming the file, not a crash
  std::ofstream(tmp / "out2/run/checkpoints/step-3/trainer_state.pt") << "not a torch archive";
  std::ofstream(log, std::ios::trunc).close();
  CHECK(run({"--resume", (tmp / "out2/run").string()}, "", log) == 1);
  CHECK(slurp(log).find("step-3/trainer_state.pt: cannot read the trainer state") != std::string::npos);
}
