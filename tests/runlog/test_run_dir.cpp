// Tests for runlog/run_dir: the `latest` pointer, pruning to the newest K with leftovers of killed writes
// removed, and JSONL logs cut back to a checkpoint's step on resume.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "runlog/run_dir.h"
#include "tests/common/temp_dir.h"

using namespace aha;
using namespace aha::runlog;

TEST_CASE("checkpoint bookkeeping: latest pointer, pruning, leftovers and log truncation",
          "[runlog][checkpoint]") {
  testing::TempDir tmp("run_dir");
  const auto run = tmp.path;
  CHECK_FALSE(latest_checkpoint(run).has_value());
  for (int s : {2, 4, 6, 8}) std::filesystem::create_directories(checkpoint_path(run, s));
  std::filesystem::create_directories(checkpoints_dir(run) / "step-10.tmp-123");  // killed mid-write
  set_latest_checkpoint(run, 6);  // step-8 was published, then the process died before moving latest
  CHECK(latest_checkpoint(run)->filename() == "step-6");
  prune_checkpoints(run, 2, /*remove_newer_than_latest=*/true);
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(checkpoints_dir(run)))
    names.insert(e.path().filename());
  CHECK(names == std::set<std::string>{"latest", "step-4", "step-6"});

  std::ofstream(checkpoints_dir(run) / "latest") << "step-x\n";
  CHECK_THROWS_WITH(latest_checkpoint(run), Catch::Contains("latest") && Catch::Contains("step-N"));

  const auto log = run / "metrics.jsonl";
  std::ofstream(log)
      << "{\"step\":0}\n{\"step\":1,\"a\":1}\n{\"step\":2}\n{\"step\":3}\n{\"step\":4,\"tr";  // cut
  truncate_jsonl_to_step(log, 2);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == "{\"step\":0}\n{\"step\":1,\"a\":1}\n{\"step\":2}\n");
  std::ofstream(log) << "{\"step\":0}\nnot json\n{\"step\":1}\n";
  CHECK_THROWS_WITH(truncate_jsonl_to_step(log, 1), Catch::Contains("metrics.jsonl:2"));
}
