// A minimal TensorBoard event-file writer for per-step scalars, with no protobuf or TensorFlow dependency.
// `tensorboard --logdir runs` picks the files up by name (events.out.tfevents.<unix seconds>.<host>...).
//
// The file is a TFRecord stream; each record is
//   uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
//   masked_crc32c(x) = ((crc >> 15) | (crc << 17)) + 0xa282ead8    (CRC-32C, Castagnoli polynomial)
// and each data is a protobuf `Event` (tensorflow/core/util/event.proto), hand-encoded:
//   record 0:  Event { wall_time = 1 (double), file_version = 3 (string) "brain.Event:2" }
//   record k:  Event { wall_time = 1, step = 2 (int64),
//                      summary = 5 { value = 1 (repeated) { tag = 1 (string), simple_value = 2 (float) } } }
// Deliberately small: scalars only (no histograms, images or plugin metadata); TensorBoard reads a bare
// simple_value as a scalar. Values are stored as float32, as TensorBoard's own writers do.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aha::runlog {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of bytes; crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view bytes);

// TFRecord's masking of a CRC, so that a CRC stored next to the bytes it covers is not itself a CRC of them.
uint32_t mask_crc(uint32_t crc);

// Seconds since the Unix epoch, the wall_time TensorBoard expects.
double unix_time_now();

class EventWriter {
 public:
  // Creates dir if needed and a new event file in it whose name no other writer (this process or another
  // on the same host) uses; writes the file_version record. Throws std::runtime_error naming the file.
  explicit EventWriter(const std::filesystem::path& dir, double wall_time = unix_time_now());

  // One Event with a Summary of one value per scalar, then flush(): a run killed at any point keeps every
  // step written before it (TensorBoard ignores a truncated last record).
  void add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars,
                   double wall_time = unix_time_now());
  // The same from a metrics object (one line of metrics.jsonl): every numeric member becomes a scalar under
  // its key; "step" (the x-axis already), booleans, strings, arrays and nested objects are skipped.
  void add_metrics(int64_t step, const nlohmann::json& metrics, double wall_time = unix_time_now());

  // Pushes buffered records to the OS. Throws std::runtime_error naming the file on a write error.
  void flush();

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& data);

  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace aha::runlog
