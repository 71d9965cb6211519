// Tests for runlog/metrics_log: what lands in metrics.jsonl, samples.jsonl, the TensorBoard event file and
// curves.svg, and the resume path (reopen after metrics.jsonl was cut back to a checkpoint), which must leave
// one event file and a picture of the kept steps only. Event files are read back by a TFRecord + protobuf
// walk written here, independent of the writer.
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runlog/curves.h"
#include "runlog/metrics_log.h"
#include "runlog/run_dir.h"
#include "tests/common/temp_dir.h"

namespace fs = std::filesystem;
using aha::runlog::append_line;
using aha::runlog::MetricsLog;
using nlohmann::json;

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> event_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) files.push_back(entry.path());
  return files;
}

uint64_t read_varint(const std::string& bytes, size_t& at) {
  uint64_t value = 0;
  for (int shift = 0; at < bytes.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(bytes[at++]);
    value |= uint64_t{byte & 0x7Fu} << shift;
    if ((byte & 0x80u) == 0) return value;
  }
  FAIL("varint runs past the end of the event");
  return 0;
}

// The Event.step (field 2) of every record of an event file; -1 for a record without one (file_version).
std::vector<int64_t> event_steps(const fs::path& file) {
  const std::string bytes = read_text(file);
  std::vector<int64_t> steps;
  size_t at = 0;
  while (at + 12 <= bytes.size()) {
    uint64_t length = 0;
    for (int i = 0; i < 8; ++i) length |= uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
    const size_t data = at + 12, end = data + length;
    REQUIRE(end + 4 <= bytes.size());
    int64_t step = -1;
    for (size_t p = data; p < end;) {
      const uint64_t key = read_varint(bytes, p);
      switch (key & 7) {
        case 0: {
          const uint64_t value = read_varint(bytes, p);
          if ((key >> 3) == 2) step = static_cast<int64_t>(value);
          break;
        }
        case 1:
          p += 8;
          break;
        case 2:
          p += read_varint(bytes, p);
          break;
        case 5:
          p += 4;
          break;
        default:
          FAIL("unexpected wire type " << (key & 7));
      }
    }
    steps.push_back(step);
    at = end + 4;
  }
  REQUIRE(at == bytes.size());
  return steps;
}

// kl = step / 100.0: a correctly rounded quotient, so it dumps as the short decimal ("0.03").
json row(int64_t step, double reward) {
  return {{"step", step}, {"reward", reward}, {"kl", static_cast<double>(step) / 100.0}};
}

}  // namespace

TEST_CASE("MetricsLog appends each row to metrics.jsonl in order, byte for byte as json::dump",
          "[runlog][metrics_log]") {
  aha::testing::TempDir run("metrics_log");
  MetricsLog log(run.path, "tiny");
  log.log(row(1, 0.25));
  log.log(row(2, 0.5));
  log.log({{"step", 3}, {"eval/pass@1", 0.125}});
  CHECK(read_text(run / "metrics.jsonl") ==
        "{\"kl\":0.01,\"reward\":0.25,\"step\":1}\n"
        "{\"kl\":0.02,\"reward\":0.5,\"step\":2}\n"
        "{\"eval/pass@1\":0.125,\"step\":3}\n");
  const auto events = event_files(run.path);
  REQUIRE(events.size() == 1);
  CHECK(event_steps(events[0]) == std::vector<int64_t>{-1, 1, 2, 3});
  // curves.svg is redrawn from every row so far after each one.
  CHECK(read_text(run / "curves.svg") ==
        aha::runlog::curves_svg({row(1, 0.25), row(2, 0.5), {{"step", 3}, {"eval/pass@1", 0.125}}}, "tiny"));
  CHECK_FALSE(fs::exists(run / "samples.jsonl"));
}

TEST_CASE("MetricsLog.log(row, false) plots the row but keeps it out of metrics.jsonl",
          "[runlog][metrics_log]") {
  // The final evaluation's row: its step already has a line, and a second one would repeat the step.
  aha::testing::TempDir run("metrics_log");
  MetricsLog log(run.path, "tiny");
  log.log(row(1, 0.25));
  log.log({{"step", 1}, {"eval/pass@1", 0.75}}, /*to_jsonl=*/false);
  CHECK(read_text(run / "metrics.jsonl") == "{\"kl\":0.01,\"reward\":0.25,\"step\":1}\n");
  const auto events = event_files(run.path);
  REQUIRE(events.size() == 1);
  CHECK(event_steps(events[0]) == std::vector<int64_t>{-1, 1, 1});
  const std::string svg = read_text(run / "curves.svg");
  CHECK(svg == aha::runlog::curves_svg({row(1, 0.25), {{"step", 1}, {"eval/pass@1", 0.75}}}, "tiny"));
  CHECK(svg.find(">eval/pass@1</text>") != std::string::npos);
}

TEST_CASE("MetricsLog.append_sample writes samples.jsonl only", "[runlog][metrics_log]") {
  aha::testing::TempDir run("metrics_log");
  MetricsLog log(run.path, "tiny");
  log.append_sample({{"step", 1}, {"completion", "<answer>4</answer>"}});
  log.append_sample({{"step", 1}, {"completion", "é"}});
  CHECK(read_text(run / "samples.jsonl") ==
        "{\"completion\":\"<answer>4</answer>\",\"step\":1}\n{\"completion\":\"é\",\"step\":1}\n");
  CHECK(run.names() == std::vector<std::string>{"samples.jsonl"});  // no metrics, events or curves
}

TEST_CASE("MetricsLog.reopen after a resume cut leaves one event file and curves of the kept steps only",
          "[runlog][metrics_log]") {
  aha::testing::TempDir run("metrics_log");
  auto before_crash = std::make_unique<MetricsLog>(run.path, "tiny");
  for (int64_t step = 1; step <= 4; ++step) before_crash->log(row(step, static_cast<double>(step) / 10.0));
  REQUIRE(event_files(run.path).size() == 1);
  REQUIRE(read_text(run / "curves.svg").find("last 0.4 at step 4") != std::string::npos);

  // The checkpoint is at step 2: the trainer cuts metrics.jsonl back, then reopens the log, either a fresh
  // one (aha train --resume, a new process) or one that has rows and an open event file already.
  aha::runlog::truncate_jsonl_to_step(run / "metrics.jsonl", 2);
  std::unique_ptr<MetricsLog> reopened;
  SECTION("a fresh log") {
    before_crash.reset();
    reopened = std::make_unique<MetricsLog>(run.path, "tiny");
  }
  SECTION("the log that wrote the rows") {
    reopened = std::move(before_crash);
  }
  MetricsLog& resumed = *reopened;
  resumed.reopen();
  auto events = event_files(run.path);
  REQUIRE(events.size() == 1);
  CHECK(event_steps(events[0]) == std::vector<int64_t>{-1, 1, 2});
  const std::string svg = read_text(run / "curves.svg");
  CHECK(svg == aha::runlog::curves_svg({row(1, 0.1), row(2, 0.2)}, "tiny"));
  CHECK(svg.find("last 0.2 at step 2") != std::string::npos);    // the reward panel ends at the checkpoint
  CHECK(svg.find(">step 2 · light line") != std::string::npos);  // so does the header
  CHECK(svg.find("step 3") == std::string::npos);
  CHECK(svg.find("step 4") == std::string::npos);

  // Steps 3 and 4 run again: each appears once in every log.
  resumed.log(row(3, 0.3));
  CHECK(read_text(run / "metrics.jsonl") ==
        "{\"kl\":0.01,\"reward\":0.1,\"step\":1}\n"
        "{\"kl\":0.02,\"reward\":0.2,\"step\":2}\n"
        "{\"kl\":0.03,\"reward\":0.3,\"step\":3}\n");
  events = event_files(run.path);
  REQUIRE(events.size() == 1);
  CHECK(event_steps(events[0]) == std::vector<int64_t>{-1, 1, 2, 3});
}

TEST_CASE("MetricsLog.reopen with no metrics yet creates no event file and draws an empty picture",
          "[runlog][metrics_log]") {
  // Killed before the first evaluation finished: metrics.jsonl does not exist yet.
  aha::testing::TempDir run("metrics_log");
  run.write("events.out.tfevents.1.host.1.0", "stale");
  MetricsLog log(run.path, "tiny");
  log.reopen();
  CHECK(run.names() == std::vector<std::string>{"curves.svg"});
  CHECK(read_text(run / "curves.svg").find("no steps yet") != std::string::npos);
}

TEST_CASE("MetricsLog.reopen names the metrics.jsonl line that is not JSON", "[runlog][metrics_log]") {
  aha::testing::TempDir run("metrics_log");
  run.write("metrics.jsonl", "{\"step\":1}\n{\"step\":2,\n");
  MetricsLog log(run.path, "tiny");
  CHECK_THROWS_WITH(log.reopen(), Catch::Contains("metrics.jsonl:2") && Catch::Contains("not valid JSON"));
}

TEST_CASE("append_line into a missing directory is an error naming the file and the reason",
          "[runlog][metrics_log]") {
  // The trainer's old append_line ignored a failed open, and the run lost its metrics without a word.
  aha::testing::TempDir run("metrics_log");
  const fs::path file = run / "missing" / "metrics.jsonl";
  CHECK_THROWS_WITH(append_line(file, {{"step", 1}}),
                    Catch::Contains(file.string()) && Catch::Contains("No such file or directory"));
  MetricsLog log(run / "missing", "tiny");
  CHECK_THROWS_WITH(log.append_sample({{"step", 1}}),
                    Catch::Contains((run / "missing" / "samples.jsonl").string()));
}

TEST_CASE("write_json_atomically writes dump(2) and a newline and leaves no temporary",
          "[runlog][metrics_log]") {
  aha::testing::TempDir run("metrics_log");
  const json config = {{"train", {{"steps", 3}}}, {"name", "tiny"}};
  aha::runlog::write_json_atomically(run / "config.json", config);
  CHECK(read_text(run / "config.json") == config.dump(2) + "\n");
  CHECK(run.names() == std::vector<std::string>{"config.json"});
}
