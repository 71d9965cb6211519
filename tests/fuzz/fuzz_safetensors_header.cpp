// libFuzzer target: the input is a whole safetensors file. read_safetensors_header must either throw
// std::runtime_error (anything else escaping aborts the run) or return a header whose entries are sorted,
// sized by shape x itemsize and tile the data buffer exactly, which is what the reader relies on when it
// reads tensor bytes without further checks.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "policy/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto read_at = [&](void* dst, uint64_t bytes, uint64_t offset) {
    if (offset > size || bytes > size - offset) throw std::runtime_error("read past the end of the input");
    std::memcpy(dst, data + offset, bytes);
  };
  aha::policy::SafetensorsHeader header;
  try {
    header = aha::policy::read_safetensors_header("fuzz.safetensors", size, read_at);
  } catch (const std::runtime_error&) {
    return 0;
  }
  uint64_t expected = 0;
  for (const aha::policy::SafetensorsEntry& e : header.entries) {
    uint64_t numel = 1;
    for (int64_t d : e.shape) {
      if (d < 0) std::abort();
      numel *= static_cast<uint64_t>(d);
    }
    if (e.begin != expected || e.end < e.begin || numel * e.dtype.itemsize != e.end - e.begin) std::abort();
    expected = e.end;
  }
  if (header.data_start < 8 || header.data_start > size || expected != size - header.data_start) std::abort();
  return 0;
}
