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

namespace aha::policy {

using TensorMap = std::map<std::string, torch::Tensor>;

// All tensors of `file` as contiguous CPU tensors that own their memory (read straight from the file into
// each tensor, no mmap kept alive). Throws std::runtime_error naming the file and the tensor.
TensorMap load_safetensors(const std::filesystem::path& file);

// The "__metadata__" map of `file` (empty if absent); validates the header like load_safetensors.
std::map<std::string, std::string> safetensors_metadata(const std::filesystem::path& file);

// Writes `tensors` (any device/layout; copied to contiguous CPU) atomically: a temp file in the same
// directory, fsync, rename over `file`, fsync of the directory. A crash leaves either the old file or the
// complete new one under `file`, never a partial one.
void save_safetensors(const std::filesystem::path& file, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace aha::policy
