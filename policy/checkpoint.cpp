// Policy directories: load, save, atomic publish. See checkpoint.h.
#include "policy/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

#include <torch/cuda.h>

#include "policy/safetensors_header.h"
#include "policy/weight_shapes.h"

namespace aha::policy {
namespace fs = std::filesystem;

namespace {

constexpr const char* kIndexFile = "model.safetensors.index.json";

// HF files that travel with tokenizer.json (chat template, special tokens, sampling defaults).
constexpr const char* kTokenizerSidecars[] = {"tokenizer_config.json", "special_tokens_map.json",
                                              "generation_config.json"};

[[noreturn]] void fail_with_errno(const fs::path& p, const std::string& what, int error) {
  throw std::runtime_error(p.string() + ": " + what + ": " + std::strerror(error));
}

// Closes fd and throws for the error that made the caller give up (close may overwrite errno).
[[noreturn]] void close_and_fail(int fd, const fs::path& p, const std::string& what) {
  const int error = errno;
  ::close(fd);
  fail_with_errno(p, what, error);
}

// Flushes a file or directory to the disk. A directory whose file system cannot sync directories (fsync
// gives EINVAL there) is let through: its rename is atomic all the same, only not yet durable.
void fsync_path(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_with_errno(p, "cannot open to fsync", errno);
  if (::fsync(fd) != 0) {
    const int error = errno;
    if (!(error == EINVAL && fs::is_directory(p))) {
      errno = error;
      close_and_fail(fd, p, "fsync failed");
    }
  }
  if (::close(fd) != 0) fail_with_errno(p, "close after fsync failed", errno);
}

void write_file(const fs::path& p, const std::string& bytes) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_with_errno(p, "cannot create", errno);
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) close_and_fail(fd, p, "write failed after " + std::to_string(done) + " of " +
                                          std::to_string(bytes.size()) + " bytes");
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) fail_with_errno(p, "write failed (close)", errno);
}

// The n-th candidate name beside `dir` for a save's own directories: `<dir><tag><pid>`, then `-2`, `-3`, ...
fs::path sibling_name(const fs::path& dir, const std::string& tag, int n) {
  const std::string base = dir.string() + tag + std::to_string(::getpid());
  return n == 1 ? base : base + "-" + std::to_string(n);
}

// `<dir>.tmp-<pid>[-n]`, created here (mkdir is atomic), so the save never clears or writes into a
// directory it did not make itself.
fs::path create_temporary_sibling(const fs::path& dir) {
  for (int n = 1;; ++n) {
    const fs::path tmp = sibling_name(dir, ".tmp-", n);
    if (::mkdir(tmp.c_str(), 0755) == 0) return tmp;
    if (errno != EEXIST) fail_with_errno(tmp, "cannot create the temporary directory", errno);
  }
}

// `<dir><tag><pid>[-n]`: a name nothing holds yet.
fs::path free_sibling(const fs::path& dir, const std::string& tag) {
  for (int n = 1;; ++n)
    if (const fs::path candidate = sibling_name(dir, tag, n); !fs::exists(fs::symlink_status(candidate)))
      return candidate;
}

// Removes a save's temporary directory unless it was published (renamed to the final name): a failed
// save leaves nothing behind, and the directory is one this save created (create_temporary_sibling).
class TemporaryDirectory {
 public:
  explicit TemporaryDirectory(fs::path path) : path_(std::move(path)) {}
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  ~TemporaryDirectory() {
    if (published_) return;
    std::error_code ignored;  // the exception on its way out says what went wrong
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  void published() { published_ = true; }

 private:
  fs::path path_;
  bool published_ = false;
};

// The path with "." and ".." resolved, absolute, without a trailing separator (so "out/" and "out/."
// get siblings "out.tmp-..." rather than children).
fs::path plain_path(const fs::path& p) {
  fs::path out = fs::absolute(p).lexically_normal();
  if (!out.has_filename() && out.has_relative_path()) out = out.parent_path();
  return out;
}

// The names a path can have to the file system: fully resolved (symlinks followed, weakly_canonical), and
// with only its parent resolved (the name itself may be a symlink that publishing would remove).
std::vector<fs::path> resolved_forms(const fs::path& p) {
  const fs::path plain = plain_path(p);
  return {plain_path(fs::weakly_canonical(plain)),
          plain.has_parent_path() && plain.parent_path() != plain
              ? plain_path(fs::weakly_canonical(plain.parent_path()) / plain.filename())
              : plain};
}

// Whether `inner` is `outer` or lies under it, component by component.
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

// Why saving may not replace `dir` (empty: it may): it exists and is neither an empty directory nor a model
// directory. save_policy's own last line of defence (`weights_required` false) also takes a directory with
// config.json but no weights: a model directory that lost its weights, which it may rewrite.
std::string why_not_replaceable(const fs::path& dir, bool weights_required) {
  const auto link = fs::symlink_status(dir);
  if (!fs::exists(link)) return {};
  const auto target = fs::status(dir);
  if (!fs::exists(target)) return "is a symbolic link to nothing";
  if (!fs::is_directory(target)) return "is a file, not a directory";
  if (fs::is_empty(dir) || is_model_directory(dir)) return {};
  if (!weights_required && fs::is_regular_file(dir / "config.json")) return {};
  return "is a non-empty directory that is not a model directory (config.json with model.safetensors or "
         "model.safetensors.index.json)";
}

// An FP8 block-scale tensor ("<weight>_scale_inv"), which dequantize_fp8_blocks folds into its weight.
constexpr std::string_view kFp8ScaleSuffix = "_scale_inv";
bool is_fp8_scale(const std::string& name) {
  return name.size() > kFp8ScaleSuffix.size() && name.ends_with(kFp8ScaleSuffix);
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

// ---- Loading: every file checked to be a regular file, every header checked against the index and the
// config, before a tensor is read or the model allocated ----------------------------------------------------
namespace {

const char* file_type_name(fs::file_type type) {
  switch (type) {
    case fs::file_type::directory:
      return "a directory";
    case fs::file_type::fifo:
      return "a FIFO";
    case fs::file_type::socket:
      return "a socket";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::character:
      return "a character device";
    default:
      return "of an unknown type";
  }
}

// Why `path` cannot be read as a file ("" when it can): it does not exist, or it is a FIFO (whose open or
// read would block forever), a directory, a device. A symbolic link counts as what it points to (HF's cache
// links every file of a snapshot).
std::string unreadable(const fs::path& path) {
  std::error_code error;
  const fs::file_type type = fs::status(path, error).type();
  if (type == fs::file_type::regular) return {};
  if (type == fs::file_type::not_found) return "does not exist";
  if (error) return "cannot be inspected (" + error.message() + ")";
  return std::string("is ") + file_type_name(type) + ", not a regular file";
}

void require_file(const fs::path& path, const std::string& expected) {
  if (const std::string why = unreadable(path); !why.empty())
    throw std::runtime_error(path.string() + ": " + why + " (expected " + expected + ")");
}

// The safetensors files of a checkpoint directory: model.safetensors, or the shards
// model.safetensors.index.json names, each with the tensors the index puts in it.
struct CheckpointFiles {
  fs::path where;  // what errors about the checkpoint as a whole name: model.safetensors or the index
  bool sharded = false;
  std::map<fs::path, std::set<std::string>> files;  // file -> the tensors listed in it (sharded only)
};

CheckpointFiles checkpoint_files(const fs::path& dir) {
  const fs::path single = dir / "model.safetensors", index_file = dir / kIndexFile;
  CheckpointFiles out;
  if (fs::exists(fs::symlink_status(single))) {
    require_file(single, "the model's weights in safetensors format");
    out.where = single;
    out.files[single] = {};
    return out;
  }
  if (!fs::exists(fs::symlink_status(index_file)))
    throw std::runtime_error(single.string() + ": missing (and no model.safetensors.index.json for shards)");
  require_file(index_file, "the shard index {\"weight_map\": {tensor: file}}");
  const std::string where = index_file.string();
  out.where = index_file;
  out.sharded = true;
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
  for (const auto& [name, file] : index["weight_map"].items()) {
    const std::string shard = file.is_string() ? file.get<std::string>() : std::string();
    if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos)
      throw std::runtime_error(where + ": weight_map['" + name + "'] must be a file name in " + dir.string() +
                               ", got " +
                               file.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    out.files[dir / shard].insert(name);
  }
  for (const auto& [file, names] : out.files)
    if (const std::string why = unreadable(file); !why.empty())
      throw std::runtime_error(where + ": weight_map puts tensor '" + *names.begin() + "' in '" +
                               file.filename().string() + "', but " + file.string() + " " + why);
  return out;
}

struct HeaderTensor {
  fs::path file;
  std::vector<int64_t> shape;
};

// Every tensor of the checkpoint, from the headers alone. With shards, each tensor must be in the shard the
// index names, and every tensor of a shard must be listed.
std::map<std::string, HeaderTensor> header_tensors(const CheckpointFiles& files) {
  std::map<std::string, HeaderTensor> all;
  for (const auto& [file, listed] : files.files) {
    const SafetensorsHeader header = read_safetensors_file_header(file);
    std::set<std::string> held;
    for (const SafetensorsEntry& e : header.entries) {
      if (files.sharded && !listed.count(e.name))
        throw std::runtime_error(file.string() + ": tensor '" + e.name + "' is not listed for this file in " +
                                 files.where.filename().string());
      held.insert(e.name);
      all[e.name] = HeaderTensor{file, e.shape};
    }
    for (const auto& name : listed)
      if (!held.count(name))
        throw std::runtime_error(files.where.string() + ": tensor '" + name + "' is listed in " +
                                 file.filename().string() + " but that file does not hold it");
  }
  return all;
}

std::string shape_string(const std::vector<int64_t>& shape) { return c10::str(c10::IntArrayRef(shape)); }

// The checkpoint's tensors against the ones `config` implies (weight_shapes.h): each must be there with its
// shape, and nothing else may be, but MTP layers (kept aside by load_state) and FP8 block scales (checked by
// dequantize_fp8_blocks). The same errors load_state gives, raised before the model is allocated; the walk
// stops at the first tensor missing, so its length is bounded by the headers, whatever the config says.
void check_tensor_shapes(const ModelConfig& config, const fs::path& config_json,
                         const std::map<std::string, HeaderTensor>& tensors, const fs::path& where) {
  std::set<std::string> expected;
  for_each_weight_shape(config, [&](const std::string& name, const std::vector<int64_t>& shape) {
    const auto it = tensors.find(name);
    if (it == tensors.end())
      throw std::runtime_error(where.string() + ": missing tensor '" + name + "' (shape " +
                               shape_string(shape) + ", as " + config_json.string() + " implies)");
    if (it->second.shape != shape)
      throw std::runtime_error(it->second.file.string() + ": tensor '" + name + "' has shape " +
                               shape_string(it->second.shape) + ", but " + config_json.string() +
                               " expects " + shape_string(shape));
    expected.insert(name);
  });
  for (const auto& [name, tensor] : tensors) {
    if (expected.count(name) || is_fp8_scale(name) ||
        is_mtp_tensor(name, config.num_hidden_layers, config.num_nextn_predict_layers))
      continue;
    throw std::runtime_error(tensor.file.string() + ": unexpected tensor '" + name +
                             "' (not part of this architecture)");
  }
}

// All tensors of the files, read once their headers have passed header_tensors.
TensorMap read_tensors(const CheckpointFiles& files, TensorStorage storage) {
  TensorMap all;
  for (const auto& [file, _] : files.files)
    for (auto& [name, t] : load_safetensors(file, storage)) all[name] = std::move(t);
  return all;
}

}  // namespace

TensorMap load_checkpoint_tensors(const fs::path& dir, TensorStorage storage) {
  const CheckpointFiles files = checkpoint_files(dir);
  header_tensors(files);
  return read_tensors(files, storage);
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
  std::vector<std::string> scales;
  for (const auto& [name, _] : tensors)
    if (is_fp8_scale(name)) scales.push_back(name);
  for (const auto& scale_name : scales) {
    const std::string weight_name = scale_name.substr(0, scale_name.size() - kFp8ScaleSuffix.size());
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

torch::ScalarType parse_dtype(const std::string& name, const std::string& field) {
  if (name == "float32") return torch::kFloat;
  if (name == "bfloat16") return torch::kBFloat16;
  if (name == "float16") return torch::kHalf;
  throw std::invalid_argument(field + ": '" + name + "' is not a dtype; expected float32, bfloat16 or float16");
}

std::string dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kHalf: return "float16";
    default: return c10::toString(dtype);
  }
}

torch::Device parse_device(const std::string& name, const std::string& field) {
  std::optional<torch::Device> device;
  try {
    device.emplace(name);
  } catch (const c10::Error&) {
  }
  if (!device || !(device->is_cpu() || device->is_cuda()))
    throw std::invalid_argument(field + ": '" + name + "' is not a device; expected cpu, cuda or cuda:N");
  if (device->is_cuda() && !torch::cuda::is_available())
    throw std::invalid_argument(field + ": '" + name + "' asks for CUDA, but no CUDA device is available");
  return *device;
}

LoadOptions parse_load_options(const std::string& device, const std::string& dtype) {
  LoadOptions load;
  load.device = parse_device(device, "--device");
  if (!dtype.empty()) load.dtype = parse_dtype(dtype, "--dtype");
  return load;
}

// Order matters: everything that reads only metadata (config.json, tokenizer.json, the safetensors headers)
// is checked before Transformer(config) allocates the config's sizes, and every file is checked to be a
// regular file before it is opened.
LoadedPolicy load_policy(const fs::path& dir, const LoadOptions& options) {
  if (!fs::is_directory(dir))
    throw std::runtime_error(dir.string() +
                             ": not a directory (expected config.json, model.safetensors, tokenizer.json)");
  const fs::path config_json = dir / "config.json";
  require_file(config_json, "the model's HF config.json");
  require_file(dir / "tokenizer.json", "the model's HF tokenizer.json");
  LoadedPolicy out;
  out.dir = dir;
  out.config = load_model_config(config_json);
  out.tokenizer = std::make_shared<Tokenizer>(Tokenizer::load(dir / "tokenizer.json"));
  if (out.tokenizer->vocab_size() > out.config.vocab_size)
    throw std::runtime_error((dir / "tokenizer.json").string() + ": tokenizer has " +
                             std::to_string(out.tokenizer->vocab_size()) +
                             " tokens but config vocab_size is " + std::to_string(out.config.vocab_size));
  int64_t block_rows = 128, block_cols = 128;
  {
    std::ifstream in(config_json);
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
            config_json.string() +
            ": quantization_config.weight_block_size must be two positive integers, got " + block.dump());
    }
  }
  const CheckpointFiles files = checkpoint_files(dir);
  check_tensor_shapes(out.config, config_json, header_tensors(files), files.where);
  out.config.attn_implementation = options.attn_implementation;
  out.model = Transformer(out.config);
  const std::string where = files.where.string();
  const TensorMap tensors =
      dequantize_fp8_blocks(read_tensors(files, TensorStorage::kMapped), block_rows, block_cols, where);
  const auto embedding = tensors.find("model.embed_tokens.weight");  // missing: load_state names it
  const torch::ScalarType dtype =
      options.dtype.value_or(embedding != tensors.end() ? embedding->second.scalar_type() : torch::kFloat);
  if (dtype != torch::kFloat)  // parameters are still unwritten (policy/linear.h): retype before the load
    for (auto& p : out.model->parameters()) p.set_data(torch::empty(p.sizes(), p.options().dtype(dtype)));
  load_state(*out.model, tensors, where);
  out.config.torch_dtype = dtype_name(dtype);
  if (options.device != torch::Device(torch::kCPU)) out.model->to(options.device);
  return out;
}

bool is_model_directory(const fs::path& dir) {
  return fs::is_regular_file(dir / "config.json") &&
         (fs::is_regular_file(dir / "model.safetensors") || fs::is_regular_file(dir / kIndexFile));
}

void check_output_dir(const fs::path& out, const fs::path& source, bool overwrite,
                      const std::string& option) {
  if (out.empty()) throw std::invalid_argument(option + ": empty path; name the directory to write");
  const std::string named = option + " " + out.string() + ": ";
  if (!source.empty()) {
    for (const auto& out_form : resolved_forms(out))
      for (const auto& source_form : resolved_forms(source)) {
        if (out_form == source_form)
          throw std::invalid_argument(named + "is the source " + source.string() +
                                      ", which writing there would delete; choose a new or empty directory");
        if (is_within(source_form, out_form))
          throw std::invalid_argument(named + "contains the source " + source.string() +
                                      ", which replacing it would delete; choose a directory outside " +
                                      out.string());
      }
  }
  if (!fs::exists(fs::symlink_status(out))) {
    // the nearest existing ancestor must be a directory for the save to create `out` under it
    for (fs::path up = plain_path(out).parent_path(); !up.empty(); up = up.parent_path()) {
      if (fs::exists(fs::status(up))) {
        if (!fs::is_directory(up))
          throw std::invalid_argument(named + up.string() +
                                      " is a file, not a directory; choose a path under a directory");
        break;
      }
      if (up == up.parent_path()) break;
    }
    return;
  }
  const std::string why = why_not_replaceable(out, /*weights_required=*/true);
  if (!why.empty())
    throw std::invalid_argument(named + why + "; aha replaces only model directories: choose a new or empty "
                                "directory");
  if (!fs::is_empty(out) && !overwrite)
    throw std::invalid_argument(named +
                                "already holds a model; pass --overwrite to replace it, or choose a new or "
                                "empty directory");
}

void publish_directory(const fs::path& tmp_dir, const fs::path& final_dir) {
  for (const auto& entry : fs::directory_iterator(tmp_dir)) fsync_path(entry.path());
  fsync_path(tmp_dir);
  fs::path old;
  if (fs::exists(fs::symlink_status(final_dir))) {
    old = free_sibling(final_dir, ".old-");
    fs::rename(final_dir, old);  // throws, naming both paths and the reason
  }
  std::error_code renamed;
  fs::rename(tmp_dir, final_dir, renamed);
  if (renamed) {
    std::error_code ignored;  // the old directory goes back under its name; the error below says why
    if (!old.empty()) fs::rename(old, final_dir, ignored);
    throw fs::filesystem_error("cannot publish the new directory", tmp_dir, final_dir, renamed);
  }
  fsync_path(final_dir.parent_path().empty() ? fs::path(".") : final_dir.parent_path());
  if (!old.empty()) fs::remove_all(old);  // only now: the new directory stands under the final name
}

void save_policy(TransformerImpl& model, const fs::path& tokenizer_json, const fs::path& dir,
                 const std::vector<std::pair<std::string, std::string>>& extra_files,
                 uint64_t max_shard_bytes, const std::function<void(const fs::path& tmp_dir)>& before_publish) {
  const fs::path target = plain_path(dir);
  if (const std::string why = why_not_replaceable(target, /*weights_required=*/false); !why.empty())
    throw std::invalid_argument(dir.string() + ": " + why +
                                "; a policy is saved only to a new, empty or model directory (nothing was "
                                "written)");
  fs::create_directories(target.parent_path());
  TemporaryDirectory tmp(create_temporary_sibling(target));
  auto tensors = state_tensors(model);
  nlohmann::json config = model.config().to_json();
  config.erase("quantization_config");  // the tensors written are never quantised
  // torch_dtype names what is written (the weights' dtype, e.g. after `aha convert --dtype bfloat16`), not
  // what the source checkpoint was
  const auto& weights = model.named_parameters().front().value();
  const torch::ScalarType type = weights.scalar_type();
  config["torch_dtype"] = dtype_name(type == torch::kBFloat16 || type == torch::kHalf ? type : torch::kFloat);
  write_file(tmp.path() / "config.json", config.dump(2) + "\n");
  save_checkpoint_tensors(tmp.path(), tensors, max_shard_bytes);
  fs::copy_file(tokenizer_json, tmp.path() / "tokenizer.json");
  for (const char* name : kTokenizerSidecars) {
    const fs::path sidecar = tokenizer_json.parent_path() / name;
    if (fs::exists(sidecar)) fs::copy_file(sidecar, tmp.path() / name);
  }
  for (const auto& [name, bytes] : extra_files) write_file(tmp.path() / name, bytes);
  if (before_publish) before_publish(tmp.path());
  publish_directory(tmp.path(), target);
  tmp.published();
}

}  // namespace aha::policy
