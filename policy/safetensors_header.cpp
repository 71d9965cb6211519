// safetensors header validation (see safetensors_header.h), with the checks the reference Rust crate
// makes: dtype, shape, byte size, offsets tiling the buffer exactly, no trailing bytes. Nothing is
// allocated for tensor data here; a header that passes describes a file the reader can fill safely.
#include "policy/safetensors_header.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace aha::policy {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; a big-endian host would need byte swaps");

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit
// A valid header nests three deep; the cap keeps the recursive dump in error messages off a stack overflow.
constexpr int kMaxHeaderDepth = 64;

struct TooDeep {};

using D = SafetensorsDType;
constexpr SafetensorsDTypeInfo kDTypes[] = {
    {D::F64, "F64", 8}, {D::F32, "F32", 4},   {D::F16, "F16", 2},         {D::BF16, "BF16", 2},
    {D::I64, "I64", 8}, {D::I32, "I32", 4},   {D::I16, "I16", 2},         {D::I8, "I8", 1},
    {D::U8, "U8", 1},   {D::BOOL, "BOOL", 1}, {D::F8_E4M3, "F8_E4M3", 1}, {D::F8_E5M2, "F8_E5M2", 1}};

[[noreturn]] void fail(const fs::path& file, const std::string& message) {
  throw std::runtime_error(file.string() + ": " + message);
}

std::string short_dump(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

std::string quoted(const std::string& name) {
  return "tensor '" + name + "'";
}

uint64_t non_negative(const json& v) {
  if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0)) {
    throw std::invalid_argument("");
  }
  return v.get<uint64_t>();
}

SafetensorsEntry parse_entry(const fs::path& file, const std::string& name, const json& v,
                             uint64_t buffer_size) {
  const std::string who = quoted(name);
  if (!v.is_object())
    fail(file, who + ": expected {\"dtype\", \"shape\", \"data_offsets\"}, got " + short_dump(v));
  SafetensorsEntry e;
  e.name = name;

  const auto dtype = v.find("dtype");
  if (dtype == v.end() || !dtype->is_string()) fail(file, who + ": missing or non-string \"dtype\"");
  const std::string dtype_name = dtype->get<std::string>();
  const std::optional<SafetensorsDTypeInfo> info = dtype_from_name(dtype_name);
  if (!info) {
    fail(file, who + ": unsupported dtype '" + dtype_name +
                   "' (supported: " + std::string(kSupportedSafetensorsDTypes) + ")");
  }
  e.dtype = *info;

  const auto shape = v.find("shape");
  uint64_t numel = 1;
  try {
    if (shape == v.end() || !shape->is_array()) throw std::invalid_argument("");
    for (const json& d : *shape) {
      const uint64_t dim = non_negative(d);
      if (dim > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, dim, &numel)) {
        throw std::invalid_argument("");
      }
      e.shape.push_back(static_cast<int64_t>(dim));
    }
  } catch (const std::invalid_argument&) {
    fail(file, who + ": \"shape\" must be a list of non-negative integers, got " +
                   (shape == v.end() ? std::string("nothing") : short_dump(*shape)));
  }

  const auto offsets = v.find("data_offsets");
  try {
    if (offsets == v.end() || !offsets->is_array() || offsets->size() != 2) throw std::invalid_argument("");
    e.begin = non_negative((*offsets)[0]);
    e.end = non_negative((*offsets)[1]);
    if (e.end < e.begin) throw std::invalid_argument("");
  } catch (const std::invalid_argument&) {
    fail(file, who + ": \"data_offsets\" must be [begin, end] with 0 <= begin <= end, got " +
                   (offsets == v.end() ? std::string("nothing") : short_dump(*offsets)));
  }

  uint64_t bytes = 0;
  if (__builtin_mul_overflow(numel, e.dtype.itemsize, &bytes) || bytes != e.end - e.begin) {
    fail(file, who + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] hold " +
                   std::to_string(e.end - e.begin) + " bytes but shape " + short_dump(*shape) + " of " +
                   dtype_name + " needs " + std::to_string(numel) + " x " + std::to_string(e.dtype.itemsize));
  }
  if (e.end > buffer_size) {
    fail(file, who + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                   "] run past the data buffer (" + std::to_string(buffer_size) + " bytes)");
  }
  return e;
}

}  // namespace

const std::string_view kSupportedSafetensorsDTypes =
    "F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2";

std::span<const SafetensorsDTypeInfo> safetensors_dtypes() {
  return kDTypes;
}

std::optional<SafetensorsDTypeInfo> dtype_from_name(std::string_view name) {
  for (const SafetensorsDTypeInfo& d : kDTypes) {
    if (d.name == name) return d;
  }
  return std::nullopt;
}

SafetensorsHeader read_safetensors_header(const fs::path& file, uint64_t file_size, const ReadAt& read_at) {
  if (file_size < 8) {
    fail(file, "file is " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");
  }
  uint64_t header_size = 0;
  read_at(&header_size, 8, 0);
  if (header_size > file_size - 8) {
    fail(file, "header length " + std::to_string(header_size) + " is larger than the file (" +
                   std::to_string(file_size) + " bytes)");
  }
  if (header_size > kMaxHeaderBytes) {
    fail(file, "header length " + std::to_string(header_size) + " exceeds the 100 MB limit");
  }
  std::string text(header_size, '\0');
  read_at(text.data(), header_size, 8);
  json h;
  try {
    h = json::parse(text, [](int depth, json::parse_event_t, json&) {
      if (depth > kMaxHeaderDepth) throw TooDeep{};
      return true;
    });
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e400
    fail(file, std::string("header is invalid JSON: ") + e.what());
  } catch (const TooDeep&) {
    fail(file, "header nests deeper than " + std::to_string(kMaxHeaderDepth) + " levels");
  }
  if (!h.is_object()) fail(file, "header is not a JSON object");

  SafetensorsHeader header;
  header.data_start = 8 + header_size;
  const uint64_t buffer_size = file_size - header.data_start;
  for (const auto& [name, value] : h.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail(file, "__metadata__ is not an object of strings");
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string()) fail(file, "__metadata__[\"" + key + "\"] is not a string: " + short_dump(v));
        header.metadata[key] = v.get<std::string>();
      }
      continue;
    }
    header.entries.push_back(parse_entry(file, name, value, buffer_size));
  }

  // The tensors must tile the buffer exactly: each begins where the previous one ends.
  std::sort(header.entries.begin(), header.entries.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  uint64_t expected = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry& e : header.entries) {
    if (e.begin != expected) {
      fail(file, quoted(e.name) + ": data_offsets start at " + std::to_string(e.begin) + " but " +
                     (previous ? quoted(previous->name) + " ends" : std::string("the buffer starts")) +
                     " at " + std::to_string(expected) + (e.begin < expected ? " (overlap)" : " (gap)"));
    }
    expected = e.end;
    previous = &e;
  }
  if (expected != buffer_size) {
    fail(file, "tensors cover " + std::to_string(expected) + " bytes but the data buffer has " +
                   std::to_string(buffer_size) + " (trailing bytes)");
  }
  return header;
}

}  // namespace aha::policy
