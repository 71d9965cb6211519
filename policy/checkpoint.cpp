// Policy directories: load, save, atomic publish. See checkpoint.h.
#include "policy/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <stdexcept>

namespace aha::policy {
namespace fs = std::filesystem;

namespace {

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
      throw std::runtime_error(where + ": missing tensor '" + name + "' (shape " +
                               c10::str(target.sizes()) + ")");
    if (it->second.sizes() != target.sizes())
      throw std::runtime_error(where + ": tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                               ", the config expects " + c10::str(target.sizes()));
    target.copy_(it->second.to(target.scalar_type()));
  };
  for (auto& p : model.named_parameters()) assign(p.key(), p.value());
  for (auto& b : model.named_buffers()) assign(b.key(), b.value());
  const auto& c = model.config();
  model.mtp_tensors.clear();
  for (const auto& [name, t] : tensors) {
    if (expected.count(name)) continue;
    if (is_mtp_tensor(name, c.num_hidden_layers, c.num_nextn_predict_layers)) {
      model.mtp_tensors[name] = t.contiguous();
      continue;
    }
    throw std::runtime_error(where + ": unexpected tensor '" + name + "' (not part of this architecture)");
  }
}

LoadedPolicy load_policy(const fs::path& dir) {
  if (!fs::is_directory(dir))
    throw std::runtime_error(dir.string() + ": not a directory (expected config.json, model.safetensors, tokenizer.json)");
  for (const char* name : {"config.json", "model.safetensors", "tokenizer.json"})
    if (!fs::exists(dir / name)) throw std::runtime_error((dir / name).string() + ": missing");
  LoadedPolicy out;
  out.dir = dir;
  out.config = load_model_config(dir / "config.json");
  out.tokenizer = std::make_shared<Tokenizer>(Tokenizer::load(dir / "tokenizer.json"));
  if (out.tokenizer->vocab_size() > out.config.vocab_size)
    throw std::runtime_error((dir / "tokenizer.json").string() + ": tokenizer has " +
                             std::to_string(out.tokenizer->vocab_size()) + " tokens but config vocab_size is " +
                             std::to_string(out.config.vocab_size));
  out.model = Transformer(out.config);
  auto file = dir / "model.safetensors";
  load_state(*out.model, load_safetensors(file), file.string());
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
                 const std::vector<std::pair<std::string, std::string>>& extra_files) {
  fs::path tmp = dir;
  tmp += ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  write_file(tmp / "config.json", model.config().to_json().dump(2) + "\n");
  save_safetensors(tmp / "model.safetensors", state_tensors(model));
  fs::copy_file(tokenizer_json, tmp / "tokenizer.json");
  for (const auto& [name, bytes] : extra_files) write_file(tmp / name, bytes);
  publish_directory(tmp, dir);
}

}  // namespace aha::policy
