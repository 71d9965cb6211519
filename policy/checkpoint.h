// A policy directory in HF layout: config.json + model.safetensors (or shards listed by
// model.safetensors.index.json) + tokenizer.json. FP8 (F8_E4M3) weights with DeepSeek's block scales
// (`<name>.weight_scale_inv`, one per weight_block_size block, 128x128 by default) are dequantised to
// fp32 on load; saving always writes unquantised tensors and a config without quantization_config.
// Loading checks the file's tensors against the module names (missing, unexpected, wrong shape: errors
// naming the file and tensor); saving writes a new directory atomically (temporary sibling, fsync, rename),
// so a crash never leaves a half-written checkpoint under the final name, and it replaces only an empty or
// model directory (what aha may delete: what it created; see check_output_dir). Shards are cut the way
// transformers' save_pretrained cuts them (huggingface_hub's split_state_dict_into_shards_factory).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "policy/config.h"
#include "policy/safetensors.h"
#include "policy/tokenizer.h"
#include "policy/transformer.h"

namespace aha::policy {

// The weights' dtype by name: "float32", "bfloat16" or "float16" (what config.json's torch_dtype says);
// anything else is std::invalid_argument naming `field` and the allowed names.
torch::ScalarType parse_dtype(const std::string& name, const std::string& field);
std::string dtype_name(torch::ScalarType dtype);
// "cpu", "cuda" or "cuda:N"; a CUDA device on a machine without one is std::invalid_argument naming `field`.
torch::Device parse_device(const std::string& name, const std::string& field);

struct LoadOptions {
  std::optional<torch::ScalarType> dtype;  // the parameters' dtype; unset: the checkpoint's own
  torch::Device device = torch::kCPU;
  std::string attn_implementation = "sdpa";  // ModelConfig::attn_implementation: "sdpa" or "eager"
};
// The commands' --device and --dtype ("" : the checkpoint's own dtype), errors naming those options.
LoadOptions parse_load_options(const std::string& device, const std::string& dtype);

struct LoadedPolicy {
  ModelConfig config;
  Transformer model{nullptr};
  std::shared_ptr<Tokenizer> tokenizer;
  std::filesystem::path dir;
};

// Reads the weights through a mapping of the files (TensorStorage::kMapped) and copies them into the
// model's parameters, so loading needs no memory beyond the model's own. Before the model is built (which
// allocates what the config asks for), config.json is validated (ModelConfig::validate: ranges and size
// caps) and the safetensors headers are checked against the shapes it implies (weight_shapes.h), so a
// config that disagrees with its weights is an error naming the file and tensor. Every file must be a
// regular file (or a link to one): a FIFO, directory or device is an error naming it, never a hang.
// The parameters take options.dtype, or the dtype the checkpoint stores its embedding in (float32 after
// FP8 dequantisation); router-bias buffers stay float32. Then the model moves to options.device.
LoadedPolicy load_policy(const std::filesystem::path& dir, const LoadOptions& options = {});

// All tensors of a checkpoint directory: model.safetensors, or every shard named by
// model.safetensors.index.json (each tensor must be in the shard the index names, and every tensor of a
// shard must be listed: checked on the headers, before any tensor is read). Each file must be a regular file.
TensorMap load_checkpoint_tensors(const std::filesystem::path& dir,
                                  TensorStorage storage = TensorStorage::kOwned);

// Replaces each F8 `X.weight` that has an `X.weight_scale_inv` [ceil(rows/block_rows), ceil(cols/block_cols)]
// by X.weight.float() * scale (per block) and drops the scale tensors. An F8 weight without scales is an
// error.
TensorMap dequantize_fp8_blocks(TensorMap tensors, int64_t block_rows, int64_t block_cols,
                                const std::string& where);

// Every parameter and persistent buffer under its HF name (CPU, contiguous).
TensorMap state_tensors(TransformerImpl& model);
// Parameters and buffers take over the memory of `tensors` of the same dtype (no copy; with a mapped load,
// the private copy-on-write pages of the file) and copy the rest, converting the dtype.
void load_state(TransformerImpl& model, const TensorMap& tensors, const std::string& where);

// transformers' old default max_shard_size ("5GB"; v5 raised it to "50GB"). 0 means one file.
constexpr uint64_t kDefaultMaxShardBytes = 5'000'000'000;

// Writes `tensors` into the existing directory `dir` as model.safetensors when they fit in one shard (or
// max_shard_bytes is 0), else as model-00001-of-0000N.safetensors ... plus model.safetensors.index.json
// {"metadata": {"total_parameters", "total_size"}, "weight_map": {tensor: file}}, as transformers does.
// Shards are filled greedily in name order: a tensor that would take a shard past max_shard_bytes starts
// a new one, and a tensor bigger than max_shard_bytes gets a shard of its own. Each file has
// __metadata__ {"format": "pt"}.
void save_checkpoint_tensors(const std::filesystem::path& dir, const TensorMap& tensors,
                             uint64_t max_shard_bytes = kDefaultMaxShardBytes);

// A model directory: config.json plus model.safetensors or model.safetensors.index.json (regular files).
// The only kind of non-empty directory that saving may replace.
bool is_model_directory(const std::filesystem::path& dir);

// The rule for a user-chosen output directory: aha deletes only what it created. Accepts `out` when it
// does not exist (its parent, if it exists, is a directory), is an empty directory, or, only with
// `overwrite`, is a model directory (is_model_directory), which the save then replaces. Always refuses:
// `out` equal to `source` or an ancestor of it, compared as weakly_canonical paths, so symlinks and ".."
// do not hide it (publishing replaces `out` and would delete the source with it); a regular file or
// anything else that is not a directory; a non-empty directory that is not a model directory, even with
// `overwrite`. Throws std::invalid_argument, one line naming `option` (e.g. "--out"), the path and what
// to do. Call it before the slow work (loading, training), so a refusal costs nothing.
void check_output_dir(const std::filesystem::path& out, const std::filesystem::path& source, bool overwrite,
                      const std::string& option = "--out");

// Writes dir/{config.json, model safetensors (save_checkpoint_tensors), tokenizer.json (copied from
// tokenizer_json)} atomically, plus tokenizer_config.json, special_tokens_map.json and
// generation_config.json when they sit next to tokenizer_json. config.json never has quantization_config.
// extra_files: further (name, bytes) pairs to place in the directory (trainer state, etc.).
// before_publish (optional) runs once everything is written to the temporary directory, before the rename.
// Everything is written to a new sibling `<dir>.tmp-<pid>[-n]` (a name not yet taken: nothing that
// exists is cleared first); any failure before the publish removes that directory again and rethrows,
// and each failed write names its file and the system's reason (strerror). An existing `dir` is replaced
// only when it is an empty directory or holds config.json (a model directory, or one that lost its
// weights); a file or any other directory is refused before anything is written. Callers that save to a
// user-chosen path check it earlier, and more strictly, with check_output_dir.
void save_policy(TransformerImpl& model, const std::filesystem::path& tokenizer_json,
                 const std::filesystem::path& dir,
                 const std::vector<std::pair<std::string, std::string>>& extra_files = {},
                 uint64_t max_shard_bytes = kDefaultMaxShardBytes,
                 const std::function<void(const std::filesystem::path& tmp_dir)>& before_publish = {});

// Atomic directory publish: fsync every file in tmp_dir and tmp_dir itself, then rename it to final_dir.
// An existing final_dir is first renamed aside to `<final_dir>.old-<pid>[-n]` and removed only once
// tmp_dir stands under the final name; if that rename fails, the old directory is put back. Failed
// fsyncs and renames throw, naming the path and the system's reason.
void publish_directory(const std::filesystem::path& tmp_dir, const std::filesystem::path& final_dir);

}  // namespace aha::policy
