// Trainer checkpoints; see trainer_state.h.
#include "grpo/trainer_state.h"

#include <torch/serialize.h>
#include <torch/torch.h>

#include <sstream>
#include <stdexcept>

#include "common/json_fields.h"
#include "grpo/run_config.h"
#include "policy/checkpoint.h"
#include "runlog/run_dir.h"

namespace aha::grpo {
namespace fs = std::filesystem;

void save_trainer_checkpoint(const fs::path& run_dir, const TrainerState& state, const nlohmann::json& extra,
                             CheckpointParts parts, int64_t keep_checkpoints,
                             const std::function<void()>& before_rename,
                             const std::function<void()>& after_rename) {
  // trainer_state.pt: AdamW moments and step counts, torch's CPU RNG state, the refreshed reference
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive optimizer_archive;
  parts.optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("rng/cpu", at::detail::getDefaultCPUGenerator().get_state());
  if (!parts.master_weights.empty()) {
    torch::serialize::OutputArchive master_archive;
    for (const auto& [name, tensor] : parts.master_weights) master_archive.write(name, tensor.cpu());
    archive.write("master", master_archive);
  }
  if (parts.reference && state.reference_step > 0) {
    torch::serialize::OutputArchive reference_archive;
    for (const auto& [name, tensor] : policy::state_tensors(*parts.reference))
      reference_archive.write(name, tensor);
    archive.write("reference", reference_archive);
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  nlohmann::json counters = common::write_section(state);
  counters.update(extra);
  const fs::path dir = runlog::checkpoint_path(run_dir, state.step);
  fs::create_directories(dir.parent_path());
  policy::save_policy(*parts.model, parts.tokenizer_json, dir,
                      {{"trainer_state.json", counters.dump(2) + "\n"}, {"trainer_state.pt", bytes.str()}},
                      policy::kDefaultMaxShardBytes, [&](const fs::path&) { before_rename(); });
  after_rename();
  runlog::set_latest_checkpoint(run_dir, state.step);
  runlog::prune_checkpoints(run_dir, keep_checkpoints);
}

TrainerState load_trainer_checkpoint(const fs::path& dir, CheckpointParts parts) {
  const fs::path state_json = dir / "trainer_state.json", state_pt = dir / "trainer_state.pt";
  nlohmann::json counters = read_json_file(state_json);
  counters.erase("config");  // written for people; the run's config.json is what resume reads
  counters.erase("epoch");
  TrainerState state;
  common::read_section(counters, state_json.string(), state);
  policy::load_state(*parts.model, policy::load_checkpoint_tensors(dir), dir.string());
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(state_pt.string());
  } catch (const c10::Error& e) {
    throw std::runtime_error(state_pt.string() +
                             ": cannot read the trainer state: " + e.what_without_backtrace());
  }
  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);
  parts.optimizer.load(optimizer_archive);
  torch::serialize::InputArchive master_archive;
  if (archive.try_read("master", master_archive) || !parts.master_weights.empty()) {
    std::map<std::string, torch::Tensor> masters;
    for (const auto& name : master_archive.keys()) master_archive.read(name, masters[name]);
    if (parts.restore_master_weights) parts.restore_master_weights(masters, state_pt.string());
  }
  torch::Tensor rng_state;
  archive.read("rng/cpu", rng_state);
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(rng_state);
  if (parts.reference && state.reference_step > 0) {
    torch::serialize::InputArchive reference_archive;
    archive.read("reference", reference_archive);
    policy::TensorMap tensors;
    for (const auto& name : reference_archive.keys()) reference_archive.read(name, tensors[name]);
    policy::load_state(*parts.reference, tensors, state_pt.string() + ": reference");
  }
  return state;
}

}  // namespace aha::grpo
