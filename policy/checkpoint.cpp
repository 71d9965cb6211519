// Policy directories: load, save, atomic publish. See checkpoint.h.
#include "policy/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <stdexcept>

namespace aha::policy {
namespace fs = std::filesystem;

namespace {

constexpr const char* kIndexFile = "model.safetensors.index.json";

// HF files that travel with tokenizer.json (chat template, special tokens, sampling defaults).
constexpr const char* kTokenizerSidecars[] = {"tokenizer_config.json", "special_tokens_map.json",
                                              "generation_config.json"};

void fsync_path(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error(p.string() + ": write failed");
}

// model.layers.{i}.* with num_hidden_layers <= i < num_hidden_layers + num_nextn_predict_layers
bool is_mtp_tensor(const std::string& name, int64_t layers, int64_t mtp_layers) {
  const std::string prefix = "model.layers.";
  if (name.rfind(prefix, 0) != 0) return false;
  size_t end = name.find('.', prefix.size());
  if (end == std::string::npos) return false;
  const std::string index = name.substr(prefix.size(), end - prefix.size());
  if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos) return false;
  const int64_t i = std::stoll(index);
  return i >= layers && i < layers + mtp_layers;
}

}  // namespace

TensorMap state_tensors(TransformerImpl& model) {
  TensorMap out;
  for (const auto& p : model.named_parameters()) out[p.key()] = p.value().detach().cpu().contiguous();
  for (const auto& b : model.named_buffers()) out[b.key()] = b.value().detach().cpu().contiguous();
  for (const auto& [name, t] : model.mtp_tensors) out[name] = t;
  return out;
}

void load_state(TransformerImpl& model, const TensorMap& tensors, const std::string& where) {
  torch::NoGradGuard no_grad;
  std::set<std::string> expected;
  auto assign = [&](const std::string& name, torch::Tensor& target) {
    expected.insert(name);
    auto it = tensors.find(name);
    if (it == tensors.end())
      throw std::runtime_error(where + ": missing tensor '" + name + "' (shape " + c10::str(target.sizes()) +
                               ")");
    if (it->second.sizes() != target.sizes())
      throw std::runtime_error(where + ": tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                               ", the config expects " + c10::str(target.sizes()));
    const torch::Tensor& source = it->second;
    const bool aligned = reinterpret_cast<uintptr_t>(source.data_ptr()) % source.element_size() == 0;
    if (source.scalar_type() == target.scalar_type() && source.device() == target.device() &&
        source.is_contiguous() && aligned)
      target.set_data(source);  // adopt the loaded memory (e.g. copy-on-write file pages): no copy
    else
      target.copy_(source.to(target.scalar_type()));
  };
  for (auto& p : model.named_parameters()) assign(p.key(), p.value());
  for (auto& b : model.named_buffers()) assign(b.key(), b.value());
  const auto& c = model.config();
  model.mtp_tensors.clear();
  for (const auto& [name, t] : tensors) {
    if (expected.count(name)) continue;
    if (is_mtp_tensor(name, c.num_hidden_layers, c.num_nextn_predict_layers)) {
      model.mtp_tensors[name] = t.clone();  // its own memory: `tensors` may be views into a file mapping
      continue;
    }
    throw std::runtime_error(where + ": unexpected tensor '" + name + "' (not part of this architecture)");
  }
}

TensorMap load_checkpoint_tensors(const fs::path& dir, TensorStorage storage) {
  const fs::path single = dir / "model.safetensors", index_file = dir / kIndexFile;
  if (fs::exists(single)) return load_safetensors(single, storage);
  if (!fs::exists(index_file))
    throw std::runtime_error(single.string() + ": missing (and no model.safetensors.index.json for shards)");
  const std::string where = index_file.string();
  nlohmann::json index;
  {
    std::ifstream in(index_file);
    try {
      index = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      throw std::runtime_error(where + ": invalid JSON: " + e.what());
    }
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw std::runtime_error(where + ": expected an object with \"weight_map\": {tensor: file}");
  std::map<std::string, std::set<std::string>> by_file;
  for (const auto& [name, file] : index["weight_map"].items()) {
    const std::string shard = file.is_string() ? file.get<std::string>() : std::string();
    if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos)
      throw std::runtime_error(where + ": weight_map['" + name + "'] must be a file name in " + dir.string() +
                               ", got " +
                               file.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    by_file[shard].insert(name);
  }
  for (const auto& [file, names] : by_file)
    if (!fs::is_regular_file(dir / file))
      throw std::runtime_error(where + ": weight_map puts tensor '" + *names.begin() + "' in '" + file +
                               "', but " + (dir / file).string() + " does not exist");
  TensorMap all;
  for (const auto& [file, names] : by_file) {
    auto shard = load_safetensors(dir / file, storage);
    for (auto& [name, t] : shard) {
      if (!names.count(name))
        throw std::runtime_error((dir / file).string() + ": tensor '" + name +
                                 "' is not listed for this file in " + index_file.filename().string());
      all[name] = std::move(t);
    }
    for (const auto& name : names)
      if (!all.count(name))
        throw std::runtime_error(where + ": tensor '" + name + "' is listed in " + file +
                                 " but that file does not hold it");
  }
  return all;
}

void save_checkpoint_tensors(const fs::path& dir, const TensorMap& tensors, uint64_t max_shard_bytes) {
  // huggingface_hub's split: greedy in order; a tensor over the cap gets a shard of its own, appended
  // when it is met (so before the shard that was being filled).
  std::vector<TensorMap> shards;
  TensorMap current;
  uint64_t current_bytes = 0, total_bytes = 0, total_parameters = 0;
  for (const auto& [name, tensor] : tensors) {
    const auto bytes = static_cast<uint64_t>(tensor.numel()) * tensor.element_size();
    total_bytes += bytes;
    total_parameters += static_cast<uint64_t>(tensor.numel());
    if (max_shard_bytes > 0 && bytes > max_shard_bytes) {
      shards.push_back({{name, tensor}});
      continue;
    }
    if (max_shard_bytes > 0 && current_bytes + bytes > max_shard_bytes) {
      shards.push_back(std::move(current));
      current.clear();
      current_bytes = 0;
    }
    current.emplace(name, tensor);
    current_bytes += bytes;
  }
  if (!current.empty() || shards.empty()) shards.push_back(std::move(current));

  const std::map<std::string, std::string> metadata = {{"format", "pt"}};
  if (shards.size() == 1) {
    save_safetensors(dir / "model.safetensors", shards[0], metadata);
    return;
  }
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    char file[64];
    std::snprintf(file, sizeof file, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    save_safetensors(dir / file, shards[i], metadata);
    for (const auto& [name, _] : shards[i]) weight_map[name] = file;
  }
  const nlohmann::json index = {
      {"metadata", {{"total_parameters", total_parameters}, {"total_size", total_bytes}}},
      {"weight_map", weight_map}};
  // json.dumps(index, indent=2, sort_keys=True) + "\n", byte for byte (ASCII escapes included).
  write_file(dir / kIndexFile, index.dump(2, ' ', /*ensure_ascii=*/true) + "\n");
}

TensorMap dequantize_fp8_blocks(TensorMap tensors, int64_t block_rows, int64_t block_cols,
                                const std::string& where) {
  if (block_rows <= 0 || block_cols <= 0)
    throw std::runtime_error(where + ": FP8 block size must be positive, got " + std::to_string(block_rows) +
                             "x" + std::to_string(block_cols) + " (quantization_config.weight_block_size)");
  const std::string suffix = "_scale_inv";
  std::vector<std::string> scales;
  for (const auto& [name, _] : tensors)
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      scales.push_back(name);
  for (const auto& scale_name : scales) {
    const std::string weight_name = scale_name.substr(0, scale_name.size() - suffix.size());
    auto it = tensors.find(weight_name);
    if (it == tensors.end())
      throw std::runtime_error(where + ": '" + scale_name + "' has no weight '" + weight_name + "'");
    const auto& w = it->second;
    auto scale = tensors.at(scale_name).to(torch::kFloat);
    if (w.dim() != 2)
      throw std::runtime_error(where + ": '" + weight_name + "' has shape " + c10::str(w.sizes()) +
                               " but block scales ('" + scale_name + "') need a 2-d weight");
    const int64_t rows = w.size(0), cols = w.size(1);
    const int64_t want_r = (rows + block_rows - 1) / block_rows,
                  want_c = (cols + block_cols - 1) / block_cols;
    if (scale.dim() != 2 || scale.size(0) != want_r || scale.size(1) != want_c)
      throw std::runtime_error(where + ": '" + scale_name + "' has shape " + c10::str(scale.sizes()) +
                               ", expected [" + std::to_string(want_r) + ", " + std::to_string(want_c) +
                               "] for weight " + c10::str(w.sizes()) + " in " + std::to_string(block_rows) +
                               "x" + std::to_string(block_cols) + " blocks");
    auto full = scale.repeat_interleave(block_rows, 0)
                    .narrow(0, 0, rows)
                    .repeat_interleave(block_cols, 1)
                    .narrow(1, 0, cols);
    it->second = (w.to(torch::kFloat) * full).contiguous();
    tensors.erase(scale_name);
  }
  for (const auto& [name, t] : tensors)
    if (t.scalar_type() == torch::kFloat8_e4m3fn || t.scalar_type() == torch::kFloat8_e5m2)
      throw std::runtime_error(where + ": FP8 tensor '" + name + "' has no '" + name +
                               "_scale_inv' block scales");
  return tensors;
}

LoadedPolicy load_policy(const fs::path& dir) {
  if (!fs::is_directory(dir))
    throw std::runtime_error(dir.string() +
                             ": not a directory (expected config.json, model.safetensors, tokenizer.json)");
  for (const char* name : {"config.json", "tokenizer.json"})
    if (!fs::exists(dir / name)) throw std::runtime_error((dir / name).string() + ": missing");
  LoadedPolicy out;
  out.dir = dir;
  out.config = load_model_config(dir / "config.json");
  out.tokenizer = std::make_shared<Tokenizer>(Tokenizer::load(dir / "tokenizer.json"));
  if (out.tokenizer->vocab_size() > out.config.vocab_size)
    throw std::runtime_error((dir / "tokenizer.json").string() + ": tokenizer has " +
                             std::to_string(out.tokenizer->vocab_size()) +
                             " tokens but config vocab_size is " + std::to_string(out.config.vocab_size));
  out.model = Transformer(out.config);
  int64_t block_rows = 128, block_cols = 128;
  {
    std::ifstream in(dir / "config.json");
    auto raw = nlohmann::json::parse(in, nullptr, false);
    if (raw.is_object() && raw.contains("quantization_config") && raw["quantization_config"].is_object()) {
      const auto& block = raw["quantization_config"]["weight_block_size"];
      if (block.is_array() && block.size() == 2 && block[0].is_number_integer() &&
          block[1].is_number_integer()) {
        block_rows = block[0].get<int64_t>();
        block_cols = block[1].get<int64_t>();
      }
      if (block_rows <= 0 || block_cols <= 0)
        throw std::runtime_error(
            (dir / "config.json").string() +
            ": quantization_config.weight_block_size must be two positive integers, got " + block.dump());
    }
  }
  const fs::path single = dir / "model.safetensors";
  const std::string where = (fs::exists(single) ? single : dir / kIndexFile).string();
  load_state(*out.model,
             dequantize_fp8_blocks(load_checkpoint_tensors(dir, TensorStorage::kMapped), block_rows,
                                   block_cols, where),
             where);
  return out;
}

void publish_directory(const fs::path& tmp_dir, const fs::path& final_dir) {
  for (const auto& entry : fs::directory_iterator(tmp_dir)) fsync_path(entry.path());
  fsync_path(tmp_dir);
  fs::path old;
  if (fs::exists(final_dir)) {
    old = final_dir;
    old += ".old-" + std::to_string(::getpid());
    fs::rename(final_dir, old);
  }
  fs::rename(tmp_dir, final_dir);
  fsync_path(final_dir.parent_path().empty() ? fs::path(".") : final_dir.parent_path());
  if (!old.empty()) fs::remove_all(old);
}

void save_policy(TransformerImpl& model, const fs::path& tokenizer_json, const fs::path& dir,
                 const std::vector<std::pair<std::string, std::string>>& extra_files,
                 uint64_t max_shard_bytes, const std::function<void(const fs::path& tmp_dir)>& before_publish) {
  fs::path tmp = dir;
  tmp += ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  auto tensors = state_tensors(model);
  nlohmann::json config = model.config().to_json();
  config.erase("quantization_config");  // the tensors written are never quantised
  // torch_dtype names what is written (the weights' dtype, e.g. after `aha convert --dtype bfloat16`), not
  // what the source checkpoint was
  const auto& weights = model.named_parameters().front().value();
  config["torch_dtype"] = weights.scalar_type() == torch::kBFloat16 ? "bfloat16"
                          : weights.scalar_type() == torch::kHalf   ? "float16"
                                                                    : "float32";
  write_file(tmp / "config.json", config.dump(2) + "\n");
  save_checkpoint_tensors(tmp, tensors, max_shard_bytes);
  fs::copy_file(tokenizer_json, tmp / "tokenizer.json");
  for (const char* name : kTokenizerSidecars) {
    const fs::path sidecar = tokenizer_json.parent_path() / name;
    if (fs::exists(sidecar)) fs::copy_file(sidecar, tmp / name);
  }
  for (const auto& [name, bytes] : extra_files) write_file(tmp / name, bytes);
  if (before_publish) before_publish(tmp);
  publish_directory(tmp, dir);
}

}  // namespace aha::policy
