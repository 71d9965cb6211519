// `aha train` on a user's data (README "Train on your own data"): 2 steps of the demo base from a JSONL file
// with its own key names and a nested answer, from an HF datasets folder of Parquet shards, and from a mix
// of a file, a generator and veRL's Parquet schema (chat-message prompts) with rules per data source; the
// metrics per source and per eval set; every malformed row as a one-line error with exit code 1 and no run
// directory, or skipped and counted with data.on_bad_row "skip"; data.max_prompt_length drops and counts.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "datasets/task.h"
#include "tests/common/run_aha.h"
#include "tests/common/temp_dir.h"

namespace fs = std::filesystem;
using aha::testing::count_lines;
using aha::testing::read_text;
using aha::testing::run_aha_command;
using nlohmann::json;

namespace {

const fs::path kSource = AHA_SOURCE_DIR;

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

// A run directory with the demo base and arith problems written in a layout of someone else's:
// {"q": question, "sol": {"final": answer}}.
struct DataRun {
  aha::testing::TempDir tmp{"train-data"};
  fs::path root = tmp.path;

  DataRun() {
    fs::copy(kSource / "examples/tiny/base", root / "model", fs::copy_options::recursive);
    std::ofstream rows(root / "rows.jsonl");
    for (const auto& p : aha::datasets::make_task("arith", json::object())
                             ->problems(aha::datasets::Split::Train, 30, 5))
      rows << json{{"q", p.question}, {"sol", {{"final", p.answer}}}}.dump() << "\n";
  }

  // The demo config, small: 2 steps of 4 prompts x 4 completions, evals of 4 problems x 1 sample.
  json config(const json& data, const json& rewards = json::object()) const {
    json c = json::parse(read_text(kSource / "examples/tiny/grpo.json"));
    c["model"]["path"] = (root / "model").string();
    c["data"] = data;
    c["data"]["template"] = "compact";
    c["rollout"]["prompts_per_step"] = 4;
    c["rollout"]["group_size"] = 4;
    c["rollout"]["max_new_tokens"] = 40;
    c["grpo"]["mu"] = 1;
    c["grpo"]["minibatches"] = 1;
    c["train"].update(json{{"steps", 2}, {"output_dir", (root / "runs").string()}, {"run_name", "r"},
                           {"eval_problems", 4}, {"eval_samples", 1}, {"eval_every", 0}, {"save_every", 0},
                           {"threads", 1}});
    if (!rewards.empty()) c["rewards"] = rewards;
    return c;
  }

  aha::testing::AhaOutcome train(const json& config, const std::string& extra = "") const {
    write(root / "run.json", config.dump(2));
    return run_aha_command("train --config run.json" + extra, root);
  }

  std::vector<json> metrics() const {
    std::vector<json> rows;
    std::ifstream in(root / "runs/r/metrics.jsonl");
    for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
    return rows;
  }
  json summary() const { return json::parse(read_text(root / "runs/r/summary.json")); }
};

json own_rows(const DataRun& run) {
  return {{"path", (run.root / "rows.jsonl").string()}, {"prompt_key", "q"}, {"answer_key", "sol.final"},
          {"name", "mine"}};
}

}  // namespace

TEST_CASE("aha train from a JSONL file with its own key names and a nested answer") {
  DataRun run;
  json held_out = own_rows(run);
  held_out["name"] = "held";
  held_out["size"] = 4;
  const auto out = run.train(run.config({{"train", own_rows(run)}, {"eval", held_out}}));
  INFO(out.err << out.out);
  REQUIRE(out.code == 0);
  const auto rows = run.metrics();
  REQUIRE(rows.size() == 3);  // the step-0 eval row, then 2 steps
  CHECK(rows[0].contains("eval/held/pass@1"));
  CHECK(rows[0]["eval/held/problems"] == 4);
  // the base solves some of these: a wrong answer mapping would make every accuracy 0
  CHECK(rows[1]["accuracy/mine"].get<double>() + rows[2]["accuracy/mine"].get<double>() > 0);
  CHECK(rows[1]["accuracy/mine"] == rows[1]["accuracy"]);
  CHECK(rows[1].contains("rewards/mine/format/mean"));
  const json summary = run.summary();
  CHECK(summary["data"]["train"]["mine"]["problems"] == 30);
  CHECK(summary["eval_after"]["held"]["problems"] == 4);
  const std::string samples = read_text(run.root / "runs/r/samples.jsonl");
  CHECK(json::parse(samples.substr(0, samples.find('\n')))["data_source"] == "mine");
}

TEST_CASE("aha train from an HF datasets folder of Parquet shards, evaluating on its test split") {
  DataRun run;
  const std::string folder = (kSource / "tests/fixtures/data/gsm8k_style").string();
  const json rules = {{"rules", {{{"name", "gsm8k"}}, {{"name", "format"}, {"weight", 0.5}}}}};
  const auto out = run.train(
      run.config({{"train", {{"path", folder}, {"preset", "gsm8k"}}},
                  {"eval", {{"path", folder}, {"preset", "gsm8k"}, {"split", "test"}, {"name", "gsm8k_test"}}}},
                 rules));
  INFO(out.err << out.out);
  REQUIRE(out.code == 0);
  const auto rows = run.metrics();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0]["eval/gsm8k_test/problems"] == 2);
  CHECK_FALSE(rows[0].contains("eval/gsm8k_test/verifier"));  // strings stay out of the metrics
  CHECK(rows[1].contains("rewards/gsm8k/gsm8k/mean"));
  CHECK(run.summary()["data"]["train"]["gsm8k"]["problems"] == 5);
}

TEST_CASE("aha train on a mix of sources, each data source scored by its own rules") {
  DataRun run;
  // veRL's rows are chat messages: the model needs a chat template (Qwen2's ChatML)
  fs::copy_file(kSource / "tests/fixtures/chat_templates/qwen2.tokenizer_config.json",
                run.root / "model/tokenizer_config.json");
  json mine = own_rows(run);
  mine["weight"] = 2.0;
  const json data = {{"train",
                      {mine,
                       {{"generator", "countdown"}, {"size", 20}},
                       {{"path", (kSource / "tests/fixtures/data/verl_math.parquet").string()}, {"preset", "verl"}}}},
                     {"eval", {{{"generator", "countdown"}, {"size", 4}}, own_rows(run)}}};
  const json rewards = {{"rules", {{{"name", "accuracy"}}, {{"name", "format"}, {"weight", 0.5}}}},
                        {"by_source",
                         {{"countdown", {{{"name", "countdown"}}}},
                          {"openai/gsm8k", {{{"name", "gsm8k"}}, {{"name", "format"}, {"weight", 0.5}}}}}}};
  json config = run.config(data, rewards);
  config["rollout"]["prompts_per_step"] = 8;
  config["rollout"]["group_size"] = 2;
  const auto out = run.train(config);
  INFO(out.err << out.out);
  REQUIRE(out.code == 0);
  const auto rows = run.metrics();
  REQUIRE(rows.size() == 3);
  std::set<std::string> keys;
  for (const auto& row : rows)
    for (const auto& [key, _] : row.items()) keys.insert(key);
  for (const char* key : {"accuracy/mine", "rewards/mine/accuracy/mean", "accuracy/countdown",
                          "rewards/countdown/countdown/mean", "accuracy/openai/gsm8k",
                          "rewards/openai/gsm8k/gsm8k/mean", "eval/countdown/pass@1", "eval/mine/pass@1"}) {
    INFO(key);
    CHECK(keys.count(key) == 1);
  }
  CHECK(keys.count("rewards/countdown/format/mean") == 0);  // countdown rows get only their own rule
  CHECK(rows[0]["eval/countdown/problems"] == 4);
  // chat-message prompts went through the chat template, the others through the text template
  std::ifstream samples(run.root / "runs/r/samples.jsonl");
  bool chat_seen = false;
  for (std::string line; std::getline(samples, line);) {
    const json s = json::parse(line);
    if (s["data_source"] == "openai/gsm8k") {
      CHECK(s["prompt"].get<std::string>().find("<|im_start|>user\nWhat is") != std::string::npos);
      chat_seen = true;
    }
  }
  CHECK(chat_seen);
}

TEST_CASE("malformed rows: one-line errors naming file, line and field, exit 1, no run directory") {
  DataRun run;
  const std::string good = R"({"q": "What is 1 + 2?", "sol": {"final": "3"}})";
  struct Case {
    std::string row, expect;
  };
  const std::vector<Case> cases = {
      {"{not json", "rows.jsonl:2: invalid JSON"},
      {R"({"sol": {"final": "3"}})", "rows.jsonl:2: field 'q': expected a non-empty string or a list"},
      {R"({"q": 12, "sol": {"final": "3"}})", "rows.jsonl:2: field 'q'"},
      {R"({"q": "", "sol": {"final": "3"}})", "rows.jsonl:2: field 'q'"},
      {R"({"q": "What is 1 + 2?", "sol": {}})", "rows.jsonl:2: field 'sol.final': expected"},
      {R"({"q": "What is 1 + 2?", "sol": {"final": "three"}})",
       "rows.jsonl:2: field 'sol.final': the rule accuracy cannot read it"},
  };
  for (const auto& c : cases) {
    write(run.root / "rows.jsonl", good + "\n" + c.row + "\n" + good + "\n");
    const auto out = run.train(run.config({{"train", own_rows(run)}}));
    INFO(c.row << " -> " << out.err);
    CHECK(out.code == 1);
    CHECK(count_lines(out.err) == 1);
    CHECK(out.err.find(c.expect) != std::string::npos);
    CHECK_FALSE(fs::exists(run.root / "runs"));
  }
  for (const auto& [path, expect] : std::vector<std::pair<std::string, std::string>>{
           {"absent.jsonl", "absent.jsonl: no such data file"},
           {"fake.parquet", "fake.parquet: cannot read as Parquet"},
           {"no_such_folder", "no_such_folder"}}) {
    write(run.root / "fake.parquet", "not parquet");
    const auto out = run.train(run.config({{"train", {{"path", (run.root / path).string()}}}}));
    INFO(out.err);
    CHECK(out.code == 1);
    CHECK(count_lines(out.err) == 1);
    CHECK(out.err.find(expect) != std::string::npos);
    CHECK_FALSE(fs::exists(run.root / "runs"));
  }
}

TEST_CASE("data.on_bad_row skip counts bad rows and data.max_prompt_length drops and counts long prompts") {
  DataRun run;
  std::string text = read_text(run.root / "rows.jsonl");
  text += "{not json\n" R"({"q": "What is 1 + 2?", "sol": {"final": "three"}})" "\n";
  text += json{{"q", "What is " + std::string(300, '1') + " + 2?"}, {"sol", {{"final", "0"}}}}.dump() + "\n";
  write(run.root / "rows.jsonl", text);
  json config = run.config({{"train", own_rows(run)}, {"on_bad_row", "skip"}, {"max_prompt_length", 64}});
  config["train"]["steps"] = 1;
  const auto out = run.train(config);
  INFO(out.err << out.out);
  REQUIRE(out.code == 0);
  const json counts = run.summary()["data"]["train"]["mine"];
  CHECK(counts["rows"] == 33);
  CHECK(counts["skipped_rows"] == 2);
  CHECK(counts["too_long"] == 1);
  CHECK(counts["problems"] == 30);
  CHECK(out.out.find("aha data: train mine:") != std::string::npos);
}

TEST_CASE("aha eval --source grades a model on any data source, with the same pass@1 as a training eval") {
  DataRun run;
  const std::string spec = json{{"path", (run.root / "rows.jsonl").string()}, {"prompt_key", "q"},
                                {"answer_key", "sol.final"}}.dump();
  const std::string args = "eval --model model --source '" + spec +
                           "' --problems 6 --samples 2 --template compact --temperature 1 --top-p 1 "
                           "--max-new-tokens 40";
  const auto missing = run_aha_command(args, run.root);
  CHECK(missing.code == 1);
  CHECK(missing.err.find("give --verifier") != std::string::npos);
  const auto out = run_aha_command(args + " --verifier accuracy", run.root);
  INFO(out.err);
  REQUIRE(out.code == 0);
  const json summary = json::parse(out.out);
  CHECK(summary["problems"] == 6);
  CHECK(summary["verifier"] == "accuracy");
  // the same problems, samples and seed as a run's data.eval of this source give the same pass@1
  json held_out = json::parse(spec);
  held_out["size"] = 6;
  json config = run.config({{"train", own_rows(run)}, {"eval", held_out}});
  config["train"]["eval_samples"] = 2;
  config["train"]["steps"] = 1;
  REQUIRE(run.train(config).code == 0);
  CHECK(run.summary()["eval_before"]["rows"]["pass@1"] == summary["pass@1"]);
}
