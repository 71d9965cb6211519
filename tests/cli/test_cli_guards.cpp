// What a hostile user found, held shut through the real executable: aha deletes only what it created
// (`aha convert --out` never replaces the source, a directory holding it, a file or a non-model directory,
// and a model directory only with --overwrite), option values outside their range are one-line errors
// before any model is loaded, and a save that fails names the file and the reason and leaves no
// temporary directory behind.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>

#include "policy/checkpoint.h"
#include "tests/common/run_aha.h"
#include "tests/common/tiny_model.h"

namespace {

namespace fs = std::filesystem;

// The aha binary runs in a test's root with its stdout and stderr in `logs`, outside the directories the
// tests look at.
using Outcome = aha::testing::AhaOutcome;
using aha::testing::count_lines;
using aha::testing::read_text;
using aha::testing::run_aha_command;
using aha::testing::snapshot;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool holds_model(const fs::path& dir) {
  return fs::is_regular_file(dir / "config.json") && fs::is_regular_file(dir / "model.safetensors");
}

// Names under `dir`, at any depth, that a save's temporary or set-aside directories would have.
std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (contains(name, ".tmp-") || contains(name, ".old-")) found.push_back(entry.path().string());
  }
  return found;
}

}  // namespace

TEST_CASE("aha convert refuses a non-empty non-model directory even with --overwrite and leaves its files") {
  // the bug: publish renamed any existing --out aside and removed it, whatever it held
  aha::testing::TempDir root("guards-notes"), logs("guards-logs");
  aha::testing::make_tiny_policy(root / "model");
  fs::create_directories(root / "notes/deep");
  std::ofstream(root / "notes/thesis.tex") << "three years of work\n";
  std::ofstream(root / "notes/deep/data.csv") << "1,2,3\n";
  const auto before = snapshot(root / "notes");
  for (const std::string flags : {"", " --overwrite"}) {
    const Outcome out = run_aha_command("convert --model model --out notes" + flags, root.path, logs.path);
    INFO(flags << ": " << out.err);
    CHECK(out.code == 1);
    CHECK(count_lines(out.err) == 1);
    CHECK(contains(out.err, "--out notes"));
    CHECK(contains(out.err, "not a model directory"));
    CHECK(snapshot(root / "notes") == before);
  }
  // a regular file is refused too, and stays
  std::ofstream(root / "afile") << "keep me\n";
  const Outcome file = run_aha_command("convert --model model --out afile --overwrite", root.path, logs.path);
  CHECK(file.code == 1);
  CHECK(count_lines(file.err) == 1);
  CHECK(contains(file.err, "--out afile"));
  CHECK(read_text(root / "afile") == "keep me\n");
  CHECK(leftovers(root.path).empty());
}

TEST_CASE(
    "aha convert refuses --out equal to the source or a directory holding it and the source stays byte "
    "for byte") {
  // the bug: `--model models/A --out models` deleted the source model and its siblings
  aha::testing::TempDir root("guards-source"), logs("guards-logs");
  aha::testing::make_tiny_policy(root / "models/A");
  aha::testing::make_tiny_policy(root / "models/B", /*seed=*/2);
  // a model directory that holds another model: only the "holds the source" rule refuses it
  aha::testing::make_tiny_policy(root / "outer", /*seed=*/3);
  aha::testing::make_tiny_policy(root / "outer/inner", /*seed=*/4);
  fs::create_symlink("models/A", root / "link-to-A");
  const auto models = snapshot(root / "models"), outer = snapshot(root / "outer");
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"--model models/A --out models/A --overwrite", "--out models/A: is the source"},
      {"--model models/A --out models/A/ --overwrite", "is the source"},
      {"--model models/A --out link-to-A --overwrite", "--out link-to-A: is the source"},
      {"--model models/A --out models", "--out models: contains the source"},
      {"--model models/A --out models --overwrite", "--out models: contains the source"},
      {"--model models/A --out models/B/.. --overwrite", "contains the source"},
      {"--model outer/inner --out outer --overwrite", "--out outer: contains the source"},
      {"--model link-to-A --out models --overwrite", "--out models: contains the source"},
  };
  for (const auto& c : cases) {
    const Outcome out = run_aha_command("convert " + c.args, root.path, logs.path);
    INFO(c.args << ": " << out.err);
    CHECK(out.code == 1);
    CHECK(count_lines(out.err) == 1);
    CHECK(contains(out.err, c.expect));
    REQUIRE(snapshot(root / "models") == models);
    REQUIRE(snapshot(root / "outer") == outer);
  }
  CHECK(leftovers(root.path).empty());
}

TEST_CASE("aha convert replaces an existing model directory only with --overwrite and fills an empty one") {
  aha::testing::TempDir root("guards-overwrite"), logs("guards-logs");
  aha::testing::make_tiny_policy(root / "model");
  aha::testing::make_tiny_policy(root / "old", /*seed=*/7);
  const std::string old_weights = read_text(root / "old/model.safetensors");
  REQUIRE(old_weights != read_text(root / "model/model.safetensors"));

  const Outcome refused = run_aha_command("convert --model model --out old", root.path, logs.path);
  INFO(refused.err);
  CHECK(refused.code == 1);
  CHECK(count_lines(refused.err) == 1);
  CHECK(contains(refused.err, "--out old: already holds a model; pass --overwrite"));
  CHECK(read_text(root / "old/model.safetensors") == old_weights);

  const Outcome replaced = run_aha_command("convert --model model --out old --overwrite", root.path, logs.path);
  INFO(replaced.err);
  CHECK(replaced.code == 0);
  CHECK(read_text(root / "old/model.safetensors") == read_text(root / "model/model.safetensors"));

  fs::create_directories(root / "empty");
  const Outcome filled = run_aha_command("convert --model model --out empty", root.path, logs.path);
  INFO(filled.err);
  CHECK(filled.code == 0);
  CHECK(holds_model(root / "empty"));
  CHECK(leftovers(root.path).empty());
}

TEST_CASE(
    "aha generate and eval reject out-of-range options in one line naming the option before loading "
    "the model") {
  // the bugs: --top-p 0 indexed out of bounds, --max-new-tokens -5 crashed in zeros(), --temperature nan
  // sampled token 0 from NaNs and exited 0. The model path does not exist: the option must fail first.
  aha::testing::TempDir root("guards-options"), logs("guards-logs");
  struct Case {
    std::string args, option, value;
  };
  const std::string generate = "generate --model no-such-model --prompt hi ";
  const std::string eval = "eval --model no-such-model --task arith ";
  const std::vector<Case> cases = {
      {generate + "--top-p 0", "--top-p", "0"},
      {generate + "--top-p nan", "--top-p", "nan"},
      {generate + "--top-p 1.5", "--top-p", "1.5"},
      {generate + "--max-new-tokens -5", "--max-new-tokens", "-5"},
      {generate + "--max-new-tokens 0", "--max-new-tokens", "0"},
      {generate + "--temperature nan", "--temperature", "nan"},
      {generate + "--temperature -1", "--temperature", "-1"},
      {generate + "--temperature inf", "--temperature", "inf"},
      {generate + "--seed -1", "--seed", "-1"},
      {eval + "--temperature nan", "--temperature", "nan"},
      {eval + "--top-p 0", "--top-p", "0"},
      {eval + "--max-new-tokens -5", "--max-new-tokens", "-5"},
      {eval + "--problems 0", "--problems", "0"},
      {eval + "--seed -3", "--seed", "-3"},
  };
  for (const auto& c : cases) {
    const Outcome out = run_aha_command(c.args, root.path, logs.path);
    INFO(c.args << ": " << out.err);
    CHECK(out.code == 1);
    CHECK(count_lines(out.err) == 1);
    CHECK(contains(out.err, c.option + ": "));
    CHECK(contains(out.err, c.value));
  }
  // with a model: the new tokens must fit in max_position_embeddings (256) after the prompt
  aha::testing::make_tiny_policy(root / "model");
  const Outcome too_long =
      run_aha_command("generate --model model --prompt hi --max-new-tokens 100000", root.path, logs.path);
  INFO(too_long.err);
  CHECK(too_long.code == 1);
  CHECK(count_lines(too_long.err) == 1);
  CHECK(contains(too_long.err, "--max-new-tokens: 100000 does not fit"));
  CHECK(contains(too_long.err, "max_position_embeddings 256"));
}

TEST_CASE("a save that cannot write names the path and the reason and leaves no .tmp- directory") {
  // the bug: an exception between creating <dir>.tmp-PID and publishing left the directory filling the
  // disk, and write errors said only "write failed"
  aha::testing::TempDir root("guards-write"), logs("guards-logs");
  aha::policy::Transformer model(aha::testing::tiny_config());
  model->init_weights(1);
  try {
    aha::policy::save_policy(*model, aha::testing::tiny_tokenizer_path(), root / "out",
                             {{"no-such-dir/state.json", "{}"}});
    FAIL("save_policy wrote a file into a directory that does not exist");
  } catch (const std::exception& e) {
    INFO(e.what());
    CHECK(contains(e.what(), "no-such-dir/state.json"));
    CHECK(contains(e.what(), "No such file or directory"));
  }
  CHECK_FALSE(fs::exists(root / "out"));
  CHECK(leftovers(root.path).empty());

  // through the CLI: --out under a regular file is refused before loading, naming --out and the file
  aha::testing::make_tiny_policy(root / "model");
  std::ofstream(root / "afile") << "not a directory\n";
  const Outcome under_file = run_aha_command("convert --model model --out afile/converted", root.path, logs.path);
  INFO(under_file.err);
  CHECK(under_file.code == 1);
  CHECK(count_lines(under_file.err) == 1);
  CHECK(contains(under_file.err, "--out afile/converted"));
  CHECK(contains(under_file.err, "afile is a file, not a directory"));

  // a copy that fails halfway (a tokenizer sidecar that is a directory) removes the temporary directory
  fs::create_directories(root / "model/generation_config.json");
  const Outcome halfway = run_aha_command("convert --model model --out converted", root.path, logs.path);
  INFO(halfway.err);
  CHECK(halfway.code == 1);
  CHECK(count_lines(halfway.err) == 1);
  CHECK(contains(halfway.err, "generation_config.json"));
  CHECK_FALSE(fs::exists(root / "converted"));
  CHECK(leftovers(root.path).empty());
}

TEST_CASE("save_policy never clears a directory it did not create under its temporary name") {
  // the bug: save_policy began with remove_all(<dir>.tmp-<pid>), whoever had made that directory
  aha::testing::TempDir root("guards-tmpname");
  const fs::path taken = root.path / ("out.tmp-" + std::to_string(::getpid()));
  fs::create_directories(taken);
  std::ofstream(taken / "keep.txt") << "mine\n";
  aha::policy::Transformer model(aha::testing::tiny_config());
  model->init_weights(1);
  aha::policy::save_policy(*model, aha::testing::tiny_tokenizer_path(), root / "out");
  CHECK(holds_model(root / "out"));
  CHECK(read_text(taken / "keep.txt") == "mine\n");
  CHECK(root.names() == std::vector<std::string>{"out", "out.tmp-" + std::to_string(::getpid())});
}
