// Tests for runlog/tensorboard: CRC-32C against the published check values, and event files read back by an
// independent TFRecord + protobuf decoder written here (both CRCs verified, every field decoded by key).
#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runlog/tensorboard.h"
#include "tests/common/temp_dir.h"

namespace fs = std::filesystem;
using aha::runlog::crc32c;
using aha::runlog::EventWriter;
using aha::runlog::mask_crc;

namespace {

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint64_t little_endian(const std::string& bytes, size_t at, int size) {
  uint64_t value = 0;
  for (int i = 0; i < size; ++i) value |= uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
  return value;
}

// TFRecord frames in order, each with both masked CRCs checked; a frame cut short at the end (a killed
// writer) ends the stream, as in TensorBoard's reader.
std::vector<std::string> read_records(const std::string& file) {
  std::vector<std::string> records;
  size_t at = 0;
  while (at + 12 <= file.size()) {
    const uint64_t length = little_endian(file, at, 8);
    REQUIRE(little_endian(file, at + 8, 4) == mask_crc(crc32c(file.substr(at, 8))));
    if (at + 12 + length + 4 > file.size()) break;
    std::string data = file.substr(at + 12, length);
    REQUIRE(little_endian(file, at + 12 + length, 4) == mask_crc(crc32c(data)));
    records.push_back(std::move(data));
    at += 12 + length + 4;
  }
  return records;
}

// Protobuf wire-format reader: just enough for Event, Summary and Summary.Value.
struct ProtoReader {
  std::string_view bytes;
  size_t at = 0;

  bool done() const { return at >= bytes.size(); }
  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
      REQUIRE(at < bytes.size());
      REQUIRE(shift < 64);
      const auto byte = static_cast<unsigned char>(bytes[at++]);
      value |= uint64_t{byte & 0x7Fu} << shift;
      if (!(byte & 0x80)) return value;
    }
  }
  std::pair<uint32_t, uint32_t> key() {  // field number, wire type
    const uint64_t k = varint();
    return {static_cast<uint32_t>(k >> 3), static_cast<uint32_t>(k & 7)};
  }
  uint64_t fixed(int size) {
    REQUIRE(at + size <= bytes.size());
    uint64_t value = 0;
    for (int i = 0; i < size; ++i) value |= uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
    at += size;
    return value;
  }
  std::string_view length_delimited() {
    const uint64_t size = varint();
    REQUIRE(at + size <= bytes.size());
    auto out = bytes.substr(at, size);
    at += size;
    return out;
  }
};

struct DecodedEvent {
  std::optional<double> wall_time;
  std::optional<int64_t> step;
  std::optional<std::string> file_version;
  std::vector<std::pair<std::string, float>> values;
};

// Any field or wire type the writer is not meant to produce fails the test.
DecodedEvent decode_event(std::string_view data) {
  DecodedEvent event;
  ProtoReader event_reader{data};
  while (!event_reader.done()) {
    auto [field, type] = event_reader.key();
    if (field == 1 && type == 1) {
      event.wall_time = std::bit_cast<double>(event_reader.fixed(8));
    } else if (field == 2 && type == 0) {
      event.step = static_cast<int64_t>(event_reader.varint());
    } else if (field == 3 && type == 2) {
      event.file_version = std::string(event_reader.length_delimited());
    } else if (field == 5 && type == 2) {
      ProtoReader summary{event_reader.length_delimited()};
      while (!summary.done()) {
        auto [summary_field, summary_type] = summary.key();
        REQUIRE(summary_field == 1);
        REQUIRE(summary_type == 2);
        ProtoReader value{summary.length_delimited()};
        std::optional<std::string> tag;
        std::optional<float> simple_value;
        while (!value.done()) {
          auto [value_field, value_type] = value.key();
          if (value_field == 1 && value_type == 2) {
            tag = std::string(value.length_delimited());
          } else if (value_field == 2 && value_type == 5) {
            simple_value = std::bit_cast<float>(static_cast<uint32_t>(value.fixed(4)));
          } else {
            FAIL("unexpected Summary.Value field " << value_field << " wire type " << value_type);
          }
        }
        REQUIRE(tag);
        REQUIRE(simple_value);
        event.values.emplace_back(*tag, *simple_value);
      }
    } else {
      FAIL("unexpected Event field " << field << " wire type " << type);
    }
  }
  return event;
}

std::vector<DecodedEvent> decode_file(const fs::path& file) {
  std::vector<DecodedEvent> events;
  for (const auto& record : read_records(read_bytes(file))) events.push_back(decode_event(record));
  return events;
}

}  // namespace

// RFC 3720 (iSCSI) appendix B.4 check values. Catches the wrong polynomial (plain CRC-32 gives 0xCBF43926
// for "123456789"), a missing final xor, or a non-reflected table.
TEST_CASE("crc32c matches the published Castagnoli check values", "[runlog][tensorboard]") {
  CHECK(crc32c("") == 0x00000000u);
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(crc32c(std::string(32, '\xFF')) == 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  CHECK(crc32c(ascending) == 0x46DD794Eu);
}

// mask = rotate right by 15, plus 0xa282ead8 (mod 2^32). Catches a left rotation or a missing wrap-around.
TEST_CASE("mask_crc rotates right by 15 and adds the TFRecord constant", "[runlog][tensorboard]") {
  CHECK(mask_crc(0) == 0xa282ead8u);
  CHECK(mask_crc(1) == 0xa284ead8u);            // 1 rotates to bit 17: + 0x20000
  CHECK(mask_crc(0x8000) == 0xa282ead9u);       // bit 15 rotates to bit 0
  CHECK(mask_crc(0xE3069283u) == 0xc78ab0e5u);  // crc32c("123456789"), worked in Python
}

// Catches: a wrong field number or wire type (TensorBoard would skip or reject the record), a step that is
// not varint-encoded past one byte, values not stored as float, a missing file_version record.
TEST_CASE("EventWriter scalars round-trip through an independent TFRecord and protobuf decoder",
          "[runlog][tensorboard]") {
  aha::testing::TempDir dir("tensorboard");
  fs::path file;
  {
    EventWriter writer(dir.path / "run", /*wall_time=*/1700000000.25);
    file = writer.path();
    writer.add_scalars(1, {{"reward", 0.71875}, {"completion_length", 33.75}}, 1700000001.5);
    writer.add_scalars(int64_t{1} << 40, {{"reward", -1.0 / 3.0}, {"kl", 1e-7}}, 1700000002.5);
  }
  REQUIRE(file.parent_path() == dir.path / "run");
  REQUIRE(file.filename().string().rfind("events.out.tfevents.1700000000.", 0) == 0);

  auto events = decode_file(file);
  REQUIRE(events.size() == 3);
  CHECK(events[0].file_version == "brain.Event:2");
  CHECK(events[0].wall_time == 1700000000.25);
  CHECK_FALSE(events[0].step);
  CHECK(events[0].values.empty());

  CHECK(events[1].wall_time == 1700000001.5);
  CHECK(events[1].step == 1);
  REQUIRE(events[1].values.size() == 2);
  CHECK(events[1].values[0] == std::pair<std::string, float>{"reward", 0.71875f});
  CHECK(events[1].values[1] == std::pair<std::string, float>{"completion_length", 33.75f});

  CHECK(events[2].step == int64_t{1} << 40);
  REQUIRE(events[2].values.size() == 2);
  CHECK(events[2].values[0] == std::pair<std::string, float>{"reward", static_cast<float>(-1.0 / 3.0)});
  CHECK(events[2].values[1] == std::pair<std::string, float>{"kl", 1e-7f});
}

// Catches a writer that buffers until destruction: a run killed mid-training would leave an empty file.
TEST_CASE("EventWriter puts each step on disk before it returns", "[runlog][tensorboard]") {
  aha::testing::TempDir dir("tensorboard");
  EventWriter writer(dir.path);
  writer.add_scalars(7, {{"accuracy", 0.5}});
  auto events = decode_file(writer.path());
  REQUIRE(events.size() == 2);
  CHECK(events[1].step == 7);
}

// A kill in the middle of a write leaves a partial last frame; every earlier step must still decode.
TEST_CASE("a truncated last record leaves the earlier steps readable", "[runlog][tensorboard]") {
  aha::testing::TempDir dir("tensorboard");
  fs::path file;
  {
    EventWriter writer(dir.path);
    file = writer.path();
    for (int step = 1; step <= 3; ++step) writer.add_scalars(step, {{"reward", step * 0.25}});
  }
  const auto bytes = read_bytes(file);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 5);
  auto events = decode_file(file);
  REQUIRE(events.size() == 3);  // file_version + steps 1 and 2
  CHECK(events[2].step == 2);
}

// A metrics.jsonl line: numbers become scalars (ints too), "step" is the x-axis not a curve, and booleans,
// strings and nested objects are skipped instead of throwing or being written as 0.
TEST_CASE("EventWriter.add_metrics takes a metrics object and keeps only its numbers",
          "[runlog][tensorboard]") {
  aha::testing::TempDir dir("tensorboard");
  EventWriter writer(dir.path);
  nlohmann::json metrics = {{"step", 3},           {"reward", 1.25},     {"rewards/errors", 2},
                            {"name", "tiny-grpo"}, {"resumed", true},    {"eval", {{"pass@1", 0.5}}},
                            {"lengths", {1, 2}},   {"seconds/step", 1.5}};
  writer.add_metrics(3, metrics, 1.0);
  auto events = decode_file(writer.path());
  REQUIRE(events.size() == 2);
  CHECK(events[1].step == 3);
  // nlohmann::json objects iterate in key order
  using Value = std::pair<std::string, float>;
  CHECK(events[1].values ==
        std::vector<Value>{{"reward", 1.25f}, {"rewards/errors", 2.0f}, {"seconds/step", 1.5f}});
  CHECK_THROWS_AS(writer.add_metrics(4, nlohmann::json::array({1.0})), std::invalid_argument);
}

// Two runs (or a restart) in the same second must not write into one file.
TEST_CASE("two EventWriters in one directory and one second get separate files", "[runlog][tensorboard]") {
  aha::testing::TempDir dir("tensorboard");
  EventWriter first(dir.path, 1700000000.0);
  EventWriter second(dir.path, 1700000000.0);
  CHECK(first.path() != second.path());
  CHECK(dir.names().size() == 2);
}

TEST_CASE("EventWriter errors name the path it could not create", "[runlog][tensorboard]") {
  aha::testing::TempDir dir("tensorboard");
  const auto blocker = dir.write("not-a-dir", "x");
  CHECK_THROWS_WITH(EventWriter(blocker / "run"), Catch::Contains((blocker / "run").string()));
}
