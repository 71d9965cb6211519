// safetensors reader and writer (the HF weight format), with every structural check the reference Rust
// implementation makes. Layout: u64 little-endian header length N, N bytes of JSON
//   {name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}}
// padded with spaces to a multiple of 8, then the data buffer; offsets are relative to the buffer and the
// tensors tile it exactly (no gaps, no overlaps). Dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL F8_E4M3
// F8_E5M2; the unsigned wide ints are rejected with a clear error for now. Header parsing is torch-free
// (safetensors_header.h) so a fuzzer reaches it.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

#include "policy/safetensors_header.h"

namespace aha::policy {

using TensorMap = std::map<std::string, torch::Tensor>;

// Where loaded tensors keep their bytes.
//   kOwned   each tensor owns fresh memory, read with pread straight from the file: independent of the
//            file once loaded. Costs a fresh page per 4 kB of tensor (the kernel zeroes and maps each),
//            several times what the page cache's own copy costs.
//   kMapped  tensors are views into one private, copy-on-write mmap of the file (writes never reach the
//            file), kept alive by the tensors themselves: no copy, no fresh memory. load_policy uses it,
//            and the model's parameters adopt these pages (load_state). The file must not be truncated or
//            rewritten in place while such tensors live (SIGBUS, or values that change with the file);
//            aha itself only ever replaces checkpoint files by rename. A tensor the file does not align to
//            its element size is copied into its own memory.
enum class TensorStorage { kOwned, kMapped };

// All tensors of `file` as contiguous CPU tensors. Throws std::runtime_error naming the file and the
// tensor; the whole header is checked before any tensor is made, whatever the storage.
TensorMap load_safetensors(const std::filesystem::path& file, TensorStorage storage = TensorStorage::kOwned);

// The header of `file` (each tensor's name, dtype, shape and offsets; the metadata), validated as
// load_safetensors validates it, without reading any tensor data.
SafetensorsHeader read_safetensors_file_header(const std::filesystem::path& file);

// The "__metadata__" map of `file` (empty if absent); validates the header like load_safetensors.
std::map<std::string, std::string> safetensors_metadata(const std::filesystem::path& file);

// Writes `tensors` (any device/layout; copied to contiguous CPU) atomically: a temp file in the same
// directory, fsync, rename over `file`, fsync of the directory. A crash leaves either the old file or the
// complete new one under `file`, never a partial one.
void save_safetensors(const std::filesystem::path& file, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace aha::policy
