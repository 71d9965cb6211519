// TensorBoard event files by hand: TFRecord framing, CRC-32C and the few protobuf fields an Event with
// scalars needs. The record layout and the Event fields are in tensorboard.h.
#include "runlog/tensorboard.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <stdexcept>

namespace aha::runlog {
namespace {

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    table[byte] = crc;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

// Protobuf wire format: a key is (field_number << 3) | wire_type.
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_little_endian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_key(std::string& out, uint32_t field, WireType type) {
  put_varint(out, (uint64_t{field} << 3) | type);
}

void put_double(std::string& out, uint32_t field, double value) {
  put_key(out, field, kFixed64);
  put_little_endian(out, std::bit_cast<uint64_t>(value), 8);
}

void put_float(std::string& out, uint32_t field, float value) {
  put_key(out, field, kFixed32);
  put_little_endian(out, std::bit_cast<uint32_t>(value), 4);
}

void put_int64(std::string& out, uint32_t field, int64_t value) {
  put_key(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(value));  // negative int64 is ten bytes of two's complement
}

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// event.proto field numbers
constexpr uint32_t kEventWallTime = 1, kEventStep = 2, kEventFileVersion = 3, kEventSummary = 5;
// summary.proto: Summary.value = 1; Summary.Value.tag = 1, Summary.Value.simple_value = 2
constexpr uint32_t kSummaryValue = 1, kValueTag = 1, kValueSimpleValue = 2;

std::string hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// events.out.tfevents.<seconds>.<host>.<pid>.<n>: TensorBoard's own writers add the pid and a counter the
// same way, so two writers started in the same second (two runs, or a restart) never share a file.
std::filesystem::path fresh_event_file(const std::filesystem::path& dir, double wall_time) {
  static std::atomic<int> counter{0};
  const std::string stem = "events.out.tfevents." + std::to_string(static_cast<int64_t>(wall_time)) + "." +
                           hostname() + "." + std::to_string(::getpid()) + ".";
  for (;;) {
    auto file = dir / (stem + std::to_string(counter++));
    if (!std::filesystem::exists(file)) return file;
  }
}

}  // namespace

uint32_t crc32c(std::string_view bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : bytes) crc = kCrc32cTable[(crc ^ c) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t mask_crc(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

double unix_time_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

EventWriter::EventWriter(const std::filesystem::path& dir, double wall_time) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    throw std::runtime_error(dir.string() +
                             ": cannot create the TensorBoard log directory: " + error.message());
  path_ = fresh_event_file(dir, wall_time);
  out_.open(path_, std::ios::binary);
  if (!out_) throw std::runtime_error(path_.string() + ": cannot create the TensorBoard event file");
  std::string event;
  put_double(event, kEventWallTime, wall_time);
  put_bytes(event, kEventFileVersion, "brain.Event:2");
  write_record(event);
  flush();
}

void EventWriter::add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars,
                              double wall_time) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string summary_value;
    put_bytes(summary_value, kValueTag, tag);
    put_float(summary_value, kValueSimpleValue, static_cast<float>(value));
    put_bytes(summary, kSummaryValue, summary_value);
  }
  std::string event;
  put_double(event, kEventWallTime, wall_time);
  put_int64(event, kEventStep, step);
  put_bytes(event, kEventSummary, summary);
  write_record(event);
  flush();
}

void EventWriter::add_metrics(int64_t step, const nlohmann::json& metrics, double wall_time) {
  if (!metrics.is_object())
    throw std::invalid_argument(path_.string() + ": metrics must be a JSON object; got " + metrics.dump());
  std::vector<std::pair<std::string, double>> scalars;
  for (const auto& [key, value] : metrics.items())
    if (key != "step" && value.is_number()) scalars.emplace_back(key, value.get<double>());
  add_scalars(step, scalars, wall_time);
}

void EventWriter::flush() {
  out_.flush();
  if (!out_) throw std::runtime_error(path_.string() + ": writing the TensorBoard event file failed");
}

void EventWriter::write_record(const std::string& data) {
  std::string header;
  put_little_endian(header, data.size(), 8);
  std::string record = header;
  put_little_endian(record, mask_crc(crc32c(header)), 4);
  record += data;
  put_little_endian(record, mask_crc(crc32c(data)), 4);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  if (!out_) throw std::runtime_error(path_.string() + ": writing the TensorBoard event file failed");
}

}  // namespace aha::runlog
