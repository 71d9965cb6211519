// Nothing a user made is lost, through the real `aha train`: a run name is one plain directory name;
// --overwrite replaces only an aha run directory that no process holds, and puts it back when the new run
// fails before its first step; one writer per run (a second train or resume on a held run exits at once
// naming the holder's pid); bad config values are rejected, naming the key, before anything is written;
// --set given at resume is kept in the run's config for the next plain resume.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/common/run_aha.h"
#include "tests/common/temp_dir.h"

namespace fs = std::filesystem;
using aha::testing::read_text;
using aha::testing::run_aha;

namespace {

// A run of 2 small steps on the demo base: a few seconds.
fs::path write_config(const fs::path& dir, const fs::path& output_dir) {
  nlohmann::json j = {
      {"model", {{"path", std::string(AHA_SOURCE_DIR) + "/examples/tiny/base"}}},
      {"data", {{"task", "arith"}, {"options", {{"min_terms", 2}, {"max_terms", 3}, {"max_operand", 99}}}}},
      {"rollout", {{"prompts_per_step", 2}, {"group_size", 2}, {"max_new_tokens", 48}}},
      {"rewards", {{"rules", {{{"name", "accuracy"}, {"weight", 1.0}}}}}},
      {"train",
       {{"steps", 2},
        {"eval_problems", 2},
        {"eval_samples", 1},
        {"threads", 1},
        {"output_dir", output_dir.string()},
        {"run_name", "run"}}}};
  const fs::path file = dir / "run.json";
  std::ofstream(file) << j.dump(2);
  return file;
}

// The last line the child printed (its one-line error).
std::string last_line(const fs::path& log) {
  std::string text = read_text(log), line;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

std::vector<std::string> train(const fs::path& config, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"train", "--config", config.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Every file under dir with its bytes, but the lock file (it holds the pid of the last run).
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  return aha::testing::snapshot(dir, {".aha-run.lock"});
}

bool has_replaced_leftover(const fs::path& output_dir) {
  for (const auto& e : fs::directory_iterator(output_dir))
    if (e.path().filename().string().find(".replaced-") != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("a run name is one plain directory name, and bad values fail naming the key before any write") {
  aha::testing::TempDir tmp("names");
  const fs::path out = tmp.path / "runs";
  fs::create_directories(out / "keep");
  std::ofstream(out / "keep" / "notes.txt") << "mine";
  std::ofstream(tmp.path / "sibling.txt") << "also mine";
  const fs::path config = write_config(tmp.path, out);
  const auto before = snapshot(tmp.path);
  const fs::path log = tmp.path / "log.txt";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"train.run_name=..", "train.run_name"},
      {"train.run_name=.", "train.run_name"},
      {"train.run_name=a/b", "train.run_name"},
      {"train.eval_top_p=0", "train.eval_top_p"},
      {"train.eval_top_p=2", "train.eval_top_p"},
      {"train.threads=-1", "train.threads"},
      {"train.seed=-1", "train.seed"},
      {"train.adam_beta1=5", "train.adam_beta1"},
      {"rollout.temperature=0", "rollout.temperature"},
      {"rollout.prompts_per_step=1000000000", "rollout.prompts_per_step"},
      {"rollout.max_new_tokens=100000", "rollout.max_new_tokens"},  // the base's context is 256
      {"train.eval_problems=1000000000", "train.eval_problems"}};
  for (const auto& [set, key] : cases) {
    INFO(set);
    fs::remove(log);
    CHECK(run_aha(train(config, {"--set", set, "--overwrite"}), log) == 1);
    CHECK_THAT(last_line(log), Catch::Contains(key));
    CHECK(snapshot(tmp.path).size() == before.size() + 1);  // + the log
  }
  fs::remove(log);
  CHECK(snapshot(tmp.path) == before);
  CHECK(!fs::exists(out / "run"));
}

TEST_CASE("overwrite replaces only an aha run, puts it back when the new run fails, and one writer per run") {
  aha::testing::TempDir tmp("overwrite");
  const fs::path out = tmp.path / "runs", run = out / "run", log = tmp.path / "log.txt";
  const fs::path config = write_config(tmp.path, out);

  // a user's directory where the run would go: refused, untouched
  fs::create_directories(run);
  std::ofstream(run / "thesis.tex") << "years of work";
  CHECK(run_aha(train(config, {"--overwrite"}), log) == 1);
  CHECK_THAT(last_line(log), Catch::Contains("not an aha run directory"));
  CHECK(read_text(run / "thesis.tex") == "years of work");
  fs::remove_all(run);

  // a finished run
  REQUIRE(run_aha(train(config), log) == 0);
  REQUIRE(fs::exists(run / "summary.json"));
  const auto finished = snapshot(run);

  // the new run fails in its first step: the finished run is back, byte for byte, nothing left aside
  CHECK(run_aha(train(config, {"--overwrite"}), log, "error@1") == 1);
  CHECK(snapshot(run) == finished);
  CHECK(!has_replaced_leftover(out));

  // held by another process: overwrite and resume both refuse at once, naming the holder's pid
  {
    const int fd = ::open((run / ".aha-run.lock").c_str(), O_RDWR | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
    const std::string pid = "4242\n";
    REQUIRE(::ftruncate(fd, 0) == 0);
    REQUIRE(::pwrite(fd, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size()));
    CHECK(run_aha(train(config, {"--overwrite"}), log) == 1);
    CHECK_THAT(last_line(log), Catch::Contains("in use") && Catch::Contains("pid 4242"));
    CHECK(run_aha({"train", "--resume", run.string()}, log) == 1);
    CHECK_THAT(last_line(log), Catch::Contains("in use") && Catch::Contains("pid 4242"));
    ::close(fd);
  }
  CHECK(snapshot(run) == finished);

  // a successful overwrite: a new run in its place, the old one gone
  REQUIRE(run_aha(train(config, {"--overwrite", "--set", "train.seed=5"}), log) == 0);
  CHECK(nlohmann::json::parse(read_text(run / "config.json"))["train"]["seed"] == 5);
  CHECK(!has_replaced_leftover(out));
}

TEST_CASE("set overrides given at resume are written into the run's config with the step it took effect") {
  aha::testing::TempDir tmp("resume_set");
  const fs::path out = tmp.path / "runs", run = out / "run", log = tmp.path / "log.txt";
  const fs::path config = write_config(tmp.path, out);
  REQUIRE(run_aha(train(config, {"--set", "train.save_every=1"}), log, "after-metrics@2") == 137);
  REQUIRE(run_aha({"train", "--resume", run.string(), "--set", "train.steps=3"}, log) == 0);
  auto saved = nlohmann::json::parse(read_text(run / "config.json"));
  CHECK(saved["train"]["steps"] == 3);
  CHECK(saved["overrides"] == nlohmann::json::array({{{"from_step", 2}, {"set", {"train.steps=3"}}}}));
  CHECK(nlohmann::json::parse(read_text(run / "summary.json"))["steps"] == 3);
}
