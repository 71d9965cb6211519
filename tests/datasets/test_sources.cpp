// Tests for datasets/sources.h and the multi-source ProblemStream: how a source is written in a run config,
// how rows of each file kind become problems through a mapping or a preset (checked against the rows'
// hand-read values and against the Parquet fixtures that pyarrow and HF datasets wrote,
// scripts/make_data_fixtures.py), that every malformed row is an error naming file, line or row, and
// field (or skipped and counted), and that the weighted draw order is a pure function of the draw index.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "datasets/benchmarks.h"
#include "datasets/countdown.h"
#include "datasets/problem_stream.h"
#include "datasets/sources.h"
#include "tests/common/temp_dir.h"

using namespace aha::datasets;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const std::filesystem::path kFixtures = std::filesystem::path(AHA_SOURCE_DIR) / "tests/fixtures/data";

LoadedSource load(const json& spec, OnBadRow on_bad_row = OnBadRow::Error, Split split = Split::Train) {
  return load_source(parse_source(spec, "test"), split, 1, on_bad_row, kDefaultDataDir);
}

void write(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file) << text;
}

}  // namespace

TEST_CASE("a source is a path, a benchmark or a generator, and its name defaults from what it is", "[sources]") {
  CHECK(parse_source("gsm8k", "s").kind == SourceKind::Benchmark);
  CHECK(parse_source("countdown", "s").kind == SourceKind::Generator);
  CHECK(parse_source("data/train.jsonl.gz", "s").kind == SourceKind::File);
  CHECK(parse_source("data/train.jsonl.gz", "s").name == "train");
  CHECK(parse_source("hub/gsm8k_copy", "s").kind == SourceKind::Folder);
  CHECK(parse_source("hub/gsm8k_copy", "s").name == "gsm8k_copy");
  CHECK(parse_source(json{{"path", "x.parquet"}, {"preset", "math"}}, "s").name == "math");
  CHECK(parse_source(json{{"path", "x.parquet"}, {"preset", "math"}, {"name", "mine"}}, "s").name == "mine");
  // a benchmark brings its own mapping (math500: the answer after "The answer is: ")
  CHECK(parse_source("math500", "s").mapping.answer_format == "after:The answer is: ");
  // the preset's mapping, then every key written next to it wins
  const SourceSpec s = parse_source(json{{"path", "x.jsonl"}, {"preset", "gsm8k"}, {"prompt_key", "q"}}, "s");
  CHECK(s.mapping.prompt_key == "q");
  CHECK(s.mapping.answer_format == "gsm8k");
  // round trip through the resolved form a run's config.json keeps
  const SourceSpec again = parse_source(s.to_json(), "s");
  CHECK(again.to_json() == s.to_json());
  CHECK(again.location == "x.jsonl");
}

TEST_CASE("bad source specs name the key", "[sources]") {
  auto fails = [](const json& j, const std::string& message) {
    INFO(j.dump());
    CHECK_THROWS_WITH(parse_source(j, "run.json: data.train[0]"), Contains(message));
  };
  fails(json{{"path", "a.jsonl"}, {"benchmark", "gsm8k"}}, "data.train[0]: give exactly one of");
  fails(json{{"path", "a.jsonl"}, {"preset", "alpaca"}}, "data.train[0].preset: unknown preset \"alpaca\"");
  fails(json{{"path", "a.jsonl"}, {"promt_key", "q"}}, "data.train[0].promt_key: unknown key");
  fails(json{{"path", "a.jsonl"}, {"weight", 0}}, "data.train[0].weight: must be > 0");
  fails(json{{"path", "a.jsonl"}, {"answer_format", "boxed"}}, "data.train[0].answer_format: expected raw");
  fails(json{{"generator", "sudoku"}}, "data.train[0].generator: unknown task 'sudoku'");
  fails(json{{"path", "a.jsonl"}, {"split", "validation"}}, "data.train[0].split");
  fails(json{{"path", "a.jsonl"}, {"answer_fields", {{"numbers", 3}}}}, "answer_fields.numbers");
  CHECK_THROWS_WITH(parse_sources(json::array(), "data.train"), Contains("at least one source"));
}

TEST_CASE("gsm8k rows: the answer after ####, ids, data source and the whole row kept", "[sources]") {
  aha::testing::TempDir dir("sources");
  write(dir.path / "g.jsonl",
        "{\"question\": \"Tom has 3 apples and buys 4. How many?\", \"answer\": \"3 + 4 = 7\\n#### 7\", "
        "\"level\": 2}\n\n{\"question\": \"2 * 21?\", \"answer\": \"#### 42\", \"id\": \"q-9\"}\n");
  const LoadedSource s = load(json{{"path", (dir.path / "g.jsonl").string()}, {"preset", "gsm8k"}});
  REQUIRE(s.problems.size() == 2);
  CHECK(s.rows == 2);
  CHECK(s.name == "gsm8k");
  CHECK(s.problems[0].question == "Tom has 3 apples and buys 4. How many?");
  CHECK(s.problems[0].answer == "7");
  CHECK(s.problems[0].id == "gsm8k/0");
  CHECK(s.problems[0].data_source == "gsm8k");
  CHECK(s.problems[0].where == (dir.path / "g.jsonl").string() + ":1");
  CHECK((*s.problems[0].row)["level"] == 2);  // every field reaches the reward rules
  CHECK(s.problems[1].answer == "42");
  CHECK(s.problems[1].id == "gsm8k/q-9");
  CHECK(s.problems[1].where == (dir.path / "g.jsonl").string() + ":3");  // the blank line counts
}

TEST_CASE("a .json array, a .json written as JSON Lines and a .jsonl.gz read alike", "[sources]") {
  aha::testing::TempDir dir("sources");
  const std::string rows = "{\"prompt\": \"p1\", \"answer\": 5}\n{\"prompt\": \"p2\", \"answer\": 6.0}\n";
  write(dir.path / "lines.json", rows);  // what datasets' Dataset.to_json writes
  write(dir.path / "array.json", "[{\"prompt\": \"p1\", \"answer\": 5}, {\"prompt\": \"p2\", \"answer\": 6.0}]");
  write(dir.path / "rows.jsonl", rows);
  REQUIRE(std::system(("gzip -k " + (dir.path / "rows.jsonl").string()).c_str()) == 0);
  for (const char* file : {"lines.json", "array.json", "rows.jsonl.gz"}) {
    INFO(file);
    const LoadedSource s = load(json{{"path", (dir.path / file).string()}});
    REQUIRE(s.problems.size() == 2);
    CHECK(s.problems[1].question == "p2");
    CHECK(s.problems[0].answer == "5");
    CHECK(s.problems[1].answer == "6");  // 6.0 as written by pandas is the integer 6
  }
  CHECK(load(json{{"path", (dir.path / "array.json").string()}}).problems[1].where ==
        (dir.path / "array.json").string() + ": row 1");
  CHECK(load(json{{"path", (dir.path / "rows.jsonl").string()}, {"size", 1}}).problems.size() == 1);
}

TEST_CASE("every malformed row is an error naming file, line and field, or skipped and counted", "[sources]") {
  aha::testing::TempDir dir("sources");
  const auto file = dir.path / "bad.jsonl";
  const std::string path = file.string();
  struct Case {
    std::string row, message;
  };
  const std::vector<Case> cases = {
      {"not json", "bad.jsonl:2: invalid JSON"},
      {"[1, 2]", "bad.jsonl:2: expected a JSON object"},
      {"{\"answer\": \"#### 1\"}", "bad.jsonl:2: field 'question': expected a non-empty string or a list"},
      {"{\"question\": \"  \", \"answer\": \"#### 1\"}", "bad.jsonl:2: field 'question': expected a non-empty"},
      {"{\"question\": 7, \"answer\": \"#### 1\"}", "bad.jsonl:2: field 'question'"},
      {"{\"question\": \"q\"}", "bad.jsonl:2: field 'answer': expected a non-empty string or a number, got nothing"},
      {"{\"question\": \"q\", \"answer\": true}", "bad.jsonl:2: field 'answer'"},
      {"{\"question\": \"q\", \"answer\": \"12\"}", "bad.jsonl:2: field 'answer': expected a text containing '####'"},
      {"{\"question\": \"q\", \"answer\": \"#### \"}", "bad.jsonl:2: field 'answer': expected an answer after"},
      {"{\"question\": [{\"role\": \"user\"}], \"answer\": \"#### 1\"}", "bad.jsonl:2: field 'question[0].content'"},
  };
  const std::string good = "{\"question\": \"q\", \"answer\": \"#### 1\"}\n";
  for (const Case& c : cases) {
    INFO(c.row);
    write(file, good + c.row + "\n" + good);
    CHECK_THROWS_WITH(load(json{{"path", path}, {"preset", "gsm8k"}}), Contains(c.message));
    const LoadedSource skipped = load(json{{"path", path}, {"preset", "gsm8k"}}, OnBadRow::Skip);
    CHECK(skipped.problems.size() == 2);
    CHECK(skipped.skipped == 1);
    CHECK(skipped.rows == 3);
    REQUIRE(skipped.skip_reasons.size() == 1);
    CHECK_THAT(skipped.skip_reasons[0], Contains(c.message));
  }
  write(file, "not json\n");
  CHECK_THROWS_WITH(load(json{{"path", path}}, OnBadRow::Skip), Contains("no usable rows (1 bad rows skipped"));
  CHECK_THROWS_WITH(load(json{{"path", (dir.path / "absent.jsonl").string()}}), Contains("absent.jsonl: no such data file"));
  write(dir.path / "fake.parquet", "PAR1 not really");
  CHECK_THROWS_WITH(load(json{{"path", (dir.path / "fake.parquet").string()}}),
                    Contains("fake.parquet: cannot read as Parquet"));
}

TEST_CASE("an HF datasets folder of Parquet shards, by split", "[sources]") {
  const std::string folder = (kFixtures / "gsm8k_style").string();
  const LoadedSource train = load(json{{"path", folder}, {"preset", "gsm8k"}});
  CHECK(train.problems.size() == 5);  // 3 + 2 rows in two shards, in shard order
  CHECK(train.name == "gsm8k");
  CHECK(train.problems[0].question.rfind("Natalia sold clips", 0) == 0);
  CHECK(train.problems[0].answer == "72");
  CHECK(train.problems[3].where == folder + "/data/train-00001-of-00002.parquet: row 0");
  const LoadedSource test = load(json{{"path", folder}, {"preset", "gsm8k"}, {"split", "test"}});
  CHECK(test.problems.size() == 2);
  CHECK(load(json{{"path", folder}, {"preset", "gsm8k"}}, OnBadRow::Error, Split::Test).problems.size() == 2);
}

TEST_CASE("veRL's parquet schema: chat-message prompts, nested ground truth, row data sources", "[sources]") {
  const LoadedSource s = load(json{{"path", (kFixtures / "verl_math.parquet").string()}, {"preset", "verl"}});
  REQUIRE(s.problems.size() == 4);
  const Problem& p = s.problems[0];
  CHECK(p.question.empty());
  REQUIRE(p.messages.is_array());
  CHECK(p.messages[0]["role"] == "user");
  CHECK(p.messages[0]["content"].get<std::string>().rfind("What is 7 * 6?", 0) == 0);
  CHECK(p.answer == "42");
  CHECK(p.data_source == "openai/gsm8k");  // the row's own data_source, not the source name
  CHECK(p.id == "verl/0");  // extra_info.index
  CHECK((*p.row)["ability"] == "math");
  // the same rows under other key names, mapped by hand
  const LoadedSource by_hand = load(json{{"path", (kFixtures / "verl_math.parquet").string()},
                                          {"answer_key", "reward_model.ground_truth"},
                                          {"data_source_key", "nothing_here"},
                                          {"name", "mine"}});
  CHECK(by_hand.problems[1].answer == "33");
  CHECK(by_hand.problems[1].data_source == "mine");
  CHECK(by_hand.problems[1].id == "mine/1");
}

TEST_CASE("structured ground truths from answer_fields: HumanEval rows and Countdown rows", "[sources]") {
  const LoadedSource code = load(json{{"path", (kFixtures / "code_rows.parquet").string()}, {"preset", "humaneval"}});
  REQUIRE(!code.problems.empty());
  const json truth = json::parse(code.problems[0].answer);
  CHECK(truth["entry_point"] == "add");
  CHECK(truth["prompt"] == code.problems[0].question);
  CHECK(truth.size() == 3);  // prompt, test, entry_point: the canonical solution stays out of the ground truth
  CHECK(code.problems[0].id == "HumanEval/0");

  aha::testing::TempDir dir("sources");
  write(dir.path / "cd.jsonl", "{\"target\": 22, \"nums\": [3, 5, 7]}\n{\"target\": 4, \"nums\": [2, \"x\"]}\n");
  const std::string path = (dir.path / "cd.jsonl").string();
  const LoadedSource cd = load(json{{"path", path}, {"preset", "countdown"}}, OnBadRow::Skip);
  REQUIRE(cd.problems.size() == 1);
  CHECK(cd.problems[0].question == countdown_question({3, 5, 7}, 22));
  CHECK(json::parse(cd.problems[0].answer) == json{{"numbers", {3, 5, 7}}, {"target", 22}});
  CHECK_THAT(cd.skip_reasons.at(0), Contains("cd.jsonl:2: field 'nums': expected a non-empty list of integers"));
  // a layout with other key names: only the mapping changes
  write(dir.path / "other.jsonl", "{\"goal\": 22, \"numbers\": [3, 5, 7]}\n");
  const LoadedSource other = load(json{{"path", (dir.path / "other.jsonl").string()},
                                       {"preset", "countdown"},
                                       {"answer_fields", {{"numbers", "numbers"}, {"target", "goal"}}}});
  CHECK(other.problems[0].question == cd.problems[0].question);
}

TEST_CASE("benchmarks and generators as sources", "[sources]") {
  const LoadedSource arith = load(json{{"generator", "arith"}, {"size", 5}}, OnBadRow::Error, Split::Test);
  REQUIRE(arith.problems.size() == 5);
  CHECK(arith.problems[0].data_source == "arith");
  CHECK(split_of(arith.problems[0].question) == Split::Test);
  const LoadedSource endless = load(json{{"generator", "arith"}});
  CHECK(endless.infinite());
}

TEST_CASE("several sources: draws follow the weights and are a pure function of the draw index", "[sources]") {
  auto sources = [] {
    std::vector<LoadedSource> list;
    list.push_back(load_source(parse_source(json{{"generator", "arith"}, {"size", 40}, {"weight", 3.0}}, "a"),
                               Split::Train, 1, OnBadRow::Error, kDefaultDataDir));
    list.push_back(load_source(parse_source(json{{"generator", "countdown"}, {"size", 10}}, "b"), Split::Train, 1,
                               OnBadRow::Error, kDefaultDataDir));
    return list;
  };
  ProblemStream stream(sources(), 9);
  std::map<std::string, int> counts;
  std::vector<std::string> ids;
  for (int64_t k = 0; k < 4000; ++k) {
    ids.push_back(stream.at(k).id);
    ++counts[stream.at(k).data_source];
  }
  CHECK(counts["arith"] > 2800);  // 3:1 -> 3000 : 1000, binomial sd ~27
  CHECK(counts["arith"] < 3200);
  CHECK(counts["countdown"] == 4000 - counts["arith"]);
  ProblemStream resumed(sources(), 9);
  CHECK(resumed.at(3999).id == ids[3999]);  // random access, as a resumed run starts mid-way
  CHECK(resumed.at(1234).id == ids[1234]);
  ProblemStream other_seed(sources(), 10);
  int same = 0;
  for (int64_t k = 0; k < 100; ++k) same += other_seed.at(k).id == ids[k];
  CHECK(same < 50);
  // each source's epoch visits its problems once
  std::set<std::string> countdown_epoch;
  int seen = 0;
  for (int64_t k = 0; seen < 10; ++k)
    if (stream.at(k).data_source == "countdown") countdown_epoch.insert(stream.at(k).id), ++seen;
  CHECK(countdown_epoch.size() == 10);
}

TEST_CASE("keep drops problems from pools once and skips them in endless generators", "[sources]") {
  auto short_only = [](const Problem& p) { return p.question.size() % 3 != 0; };  // drops about a third
  std::vector<LoadedSource> pool;
  pool.push_back(load_source(parse_source(json{{"generator", "arith"}, {"size", 200}}, "a"), Split::Train, 1,
                             OnBadRow::Error, kDefaultDataDir));
  const size_t all = pool[0].problems.size();
  ProblemStream filtered(std::move(pool), 1, short_only);
  CHECK(filtered.dropped()[0] > 0);
  CHECK(filtered.sources()[0].problems.size() + filtered.dropped()[0] == all);
  for (int64_t k = 0; k < 300; ++k) CHECK(short_only(filtered.at(k)));

  std::vector<LoadedSource> endless;
  endless.push_back(load_source(parse_source(json{{"generator", "arith"}}, "a"), Split::Train, 1, OnBadRow::Error,
                                kDefaultDataDir));
  ProblemStream stream(std::move(endless), 1, short_only);
  std::vector<std::string> first;
  for (int64_t k = 0; k < 200; ++k) {
    CHECK(short_only(stream.at(k)));
    first.push_back(stream.at(k).id);
  }
  std::vector<LoadedSource> again;
  again.push_back(load_source(parse_source(json{{"generator", "arith"}}, "a"), Split::Train, 1, OnBadRow::Error,
                              kDefaultDataDir));
  ProblemStream resumed(std::move(again), 1, short_only);
  CHECK(resumed.at(150).id == first[150]);
}
