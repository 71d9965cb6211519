// The safetensors header (format in safetensors.h) parsed and validated without LibTorch, so that a fuzzer
// can reach every check: the u64 length against the file size and the 100 MB limit, the JSON, each
// tensor's dtype / shape / data_offsets, and the offsets tiling the data buffer exactly. safetensors.cpp
// reads tensors with what this returns; the libFuzzer target in tests/fuzz calls the same function.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aha::policy {

enum class SafetensorsDType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };

struct SafetensorsDTypeInfo {
  SafetensorsDType dtype;
  std::string_view name;  // as written in the header, e.g. "BF16"
  uint64_t itemsize;
};

// Every supported dtype, in the order of kSupportedSafetensorsDTypes.
std::span<const SafetensorsDTypeInfo> safetensors_dtypes();
// std::nullopt for a name outside the supported list.
std::optional<SafetensorsDTypeInfo> dtype_from_name(std::string_view name);

// "F64, F32, ..." for error messages.
extern const std::string_view kSupportedSafetensorsDTypes;

struct SafetensorsEntry {
  std::string name;
  SafetensorsDTypeInfo dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // relative to the data buffer
};

struct SafetensorsHeader {
  uint64_t data_start = 0;                // absolute file offset of the data buffer (8 + header length)
  std::vector<SafetensorsEntry> entries;  // sorted by begin offset; they tile [0, file size - data_start)
  std::map<std::string, std::string> metadata;
};

// read_at(dst, bytes, offset) fills dst with `bytes` bytes of the file at `offset` or throws.
using ReadAt = std::function<void(void* dst, uint64_t bytes, uint64_t offset)>;

// Reads (through read_at) and validates the header of a `file_size`-byte file. Throws
// std::runtime_error "<file>: <what is wrong>", naming the tensor or field where there is one.
SafetensorsHeader read_safetensors_header(const std::filesystem::path& file, uint64_t file_size,
                                          const ReadAt& read_at);

}  // namespace aha::policy
