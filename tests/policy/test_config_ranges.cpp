// A hostile or broken model directory fails at load with one line naming the file and the key or tensor,
// before anything of the config's size is allocated. The bugs these guard:
//   - rms_norm_eps = -1 or rope_theta = 0 loaded and gave NaN log-probs; bos_token_id >= vocab_size gave
//     torch's "index out of range in self" (each range: ModelConfig::validate);
//   - hidden_size 10^9 or vocab_size 10^12 reached the allocator and failed there without naming config.json
//     (size caps in validate; a config that disagrees with its weights fails on the safetensors headers,
//     before Transformer(config) allocates);
//   - a FIFO as model.safetensors hung `aha info` forever (every file must be a regular file).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "policy/checkpoint.h"
#include "policy/config.h"
#include "policy/tokenizer_config.h"
#include "tests/common/temp_dir.h"
#include "tests/common/tiny_model.h"

using namespace aha;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

nlohmann::json read_json(const fs::path& file) {
  return nlohmann::json::parse(std::ifstream(file));
}

void write_json(const fs::path& file, const nlohmann::json& j) {
  std::ofstream(file) << j.dump(2);
}

// The message of what `load` throws, or "(no error)".
std::string error_of(const std::function<void()>& load) {
  try {
    load();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A change to one key of a config.json and the key the error must name.
struct BadField {
  std::string key;  // named in the error
  std::function<void(nlohmann::json&)> change;
};

BadField set(const std::string& key, nlohmann::json value) {
  return {key, [key, value](nlohmann::json& j) { j[key] = value; }};
}

// Under rope_scaling (v4) or rope_parameters (v5), whichever the config has; yarn starts from DeepSeek's
// values.
BadField rope(const std::string& key, nlohmann::json value, const std::string& named) {
  return {named, [key, value](nlohmann::json& j) {
            const char* object = j.contains("rope_parameters") ? "rope_parameters" : "rope_scaling";
            if (!j[object].is_object())
              j[object] = {
                  {"type", "yarn"},       {"factor", 40},   {"original_max_position_embeddings", 4096},
                  {"beta_fast", 32},      {"beta_slow", 1}, {"mscale", 1.0},
                  {"mscale_all_dim", 1.0}};
            j[object][key] = value;
          }};
}

// Runs `load` on a thread and gives its error. A load that blocks (on a FIFO) is let go after a few
// seconds by opening and closing each FIFO for writing, and reported as "(blocked)": the test fails
// instead of hanging.
std::string error_or_blocked(const std::function<void()>& load, const std::vector<fs::path>& fifos) {
  auto result = std::async(std::launch::async, [&] { return error_of(load); });
  if (result.wait_for(std::chrono::seconds(5)) == std::future_status::ready) return result.get();
  while (result.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready)
    for (const fs::path& fifo : fifos) {
      const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);  // fails (ENXIO) until a reader waits
      if (fd >= 0) ::close(fd);
    }
  return "(blocked) " + result.get();
}

void make_fifo(const fs::path& path) {
  fs::remove_all(path);
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
}

}  // namespace

TEST_CASE("each out-of-range config.json field is an error naming the file and the key") {
  testing::TempDir tmp("config-ranges");
  const fs::path file = tmp / "config.json";
  const nlohmann::json mla = testing::tiny_config().to_json();  // deepseek_v3: q_lora, groups, shared expert
  const nlohmann::json llama = read_json(fs::path(AHA_SOURCE_DIR) / "tests/fixtures/hf_llama/config.json");
  const std::vector<std::pair<const nlohmann::json*, BadField>> cases = {
      {&mla, set("rms_norm_eps", -1)},
      {&mla, set("rms_norm_eps", 0)},
      {&llama, set("rms_norm_eps", -1e-6)},
      {&mla, set("rope_theta", 0)},
      {&mla, set("rope_theta", -10000)},
      {&llama, rope("rope_theta", 0, "rope_theta")},  // v5: rope_parameters holds rope_theta
      {&mla, set("routed_scaling_factor", 0)},
      {&mla, set("routed_scaling_factor", -2.5)},
      {&mla, set("initializer_range", -0.02)},
      {&mla, set("bos_token_id", 320)},  // == vocab_size
      {&mla, set("bos_token_id", -1)},
      {&mla, set("eos_token_id", 1000)},
      {&mla, set("eos_token_id", {400, 0})},  // a list: its first id is the one used
      {&llama, set("eos_token_id", 320)},
      {&mla, rope("factor", 0, "rope_scaling factor")},
      {&mla, rope("factor", -4, "rope_scaling factor")},
      {&mla, rope("beta_fast", -32, "beta_fast")},
      {&mla, rope("beta_slow", 0, "beta_slow")},
      {&mla, rope("original_max_position_embeddings", 0, "original_max_position_embeddings")},
      {&llama, rope("factor", 0, "rope_scaling factor")},
      {&llama, rope("low_freq_factor", 0, "low_freq_factor")},
      {&llama, rope("high_freq_factor", 0.5, "high_freq_factor")},
      {&mla, set("n_shared_experts", -1)},
      {&mla, set("n_routed_experts", -8)},
      {&mla, set("first_k_dense_replace", -1)},
      {&mla, set("max_position_embeddings", 0)},
      // Absurd sizes: each over its cap, refused before anything loops over layers or allocates.
      {&mla, set("vocab_size", 1'000'000'000'000)},
      {&mla, set("hidden_size", 1'000'000'000)},
      {&llama, set("hidden_size", 1'000'000'000)},
      {&mla, set("num_hidden_layers", 10'000'000)},
      {&mla, set("num_nextn_predict_layers", 1'000'000'000)},
      {&mla, set("max_position_embeddings", int64_t{1} << 40)},
      {&mla, set("intermediate_size", int64_t{1} << 40)},
      {&mla, set("moe_intermediate_size", int64_t{1} << 40)},
      {&mla, set("n_routed_experts", int64_t{1} << 30)},
      {&mla, set("kv_lora_rank", int64_t{1} << 40)},
      {&llama, set("num_attention_heads", int64_t{1} << 30)},
      {&llama, set("head_dim", int64_t{1} << 30)},
      // Each dimension within its cap, the product over 2e12 parameters: 2^24 x 2^17 x 2 (embedding,
      // lm_head).
      {&mla,
       {"parameters",
        [](nlohmann::json& j) {
          j["vocab_size"] = int64_t{1} << 24;
          j["hidden_size"] = int64_t{1} << 17;
        }}},
  };
  const auto start = std::chrono::steady_clock::now();
  for (const auto& [base, bad] : cases) {
    nlohmann::json j = *base;
    bad.change(j);
    write_json(file, j);
    INFO(bad.key << " in " << j.dump().substr(0, 300));
    const std::string error = error_of([&] { policy::load_model_config(file); });
    CHECK_THAT(error, Contains(file.string() + ": ") && Contains(bad.key));
    CHECK(error.find('\n') == std::string::npos);  // one line
  }
  CHECK(seconds_since(start) < 1.0);

  // Values JSON cannot carry, from code (presets, tests): NaN and infinity.
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const std::vector<std::pair<std::string, std::function<void(policy::ModelConfig&)>>> reals = {
      {"rms_norm_eps", [&](policy::ModelConfig& c) { c.rms_norm_eps = nan; }},
      {"rms_norm_eps", [&](policy::ModelConfig& c) { c.rms_norm_eps = inf; }},
      {"rope_theta", [&](policy::ModelConfig& c) { c.rope_theta = nan; }},
      {"rope_theta", [&](policy::ModelConfig& c) { c.rope_theta = inf; }},
      {"routed_scaling_factor", [&](policy::ModelConfig& c) { c.routed_scaling_factor = nan; }},
      {"initializer_range", [&](policy::ModelConfig& c) { c.initializer_range = inf; }},
      {"rope_scaling factor",
       [&](policy::ModelConfig& c) {
         c.rope_scaling.type = policy::RopeType::Linear;
         c.rope_scaling.factor = inf;
       }},
      {"mscale",
       [&](policy::ModelConfig& c) {
         c.rope_scaling.type = policy::RopeType::Yarn;
         c.rope_scaling.factor = 4;
         c.rope_scaling.mscale = nan;
       }},
  };
  for (const auto& [key, change] : reals) {
    policy::ModelConfig c = testing::tiny_config();
    change(c);
    INFO(key);
    CHECK_THAT(error_of([&] { c.validate(); }), Contains("config.json: ") && Contains(key));
  }
  // And the tiny config itself is fine.
  CHECK(error_of([] { testing::tiny_config().validate(); }) == "(no error)");
}

// Without the caps and the header check, each of these reached Transformer(config): 10^12 x 32 floats, or
// a [2^20, 2^16] embedding (256 GiB), failed in the allocator (or, with overcommit, after seconds of
// zero-filling) with an error that named neither config.json nor a tensor.
TEST_CASE("absurd sizes fail at load_policy naming config.json or the tensor in well under a second") {
  testing::TempDir tmp("absurd");
  const fs::path dir = testing::make_tiny_policy(tmp / "p");
  const fs::path config_json = dir / "config.json";
  const nlohmann::json good = read_json(config_json);
  auto load_error_with = [&](const std::function<void(nlohmann::json&)>& change) {
    nlohmann::json j = good;
    change(j);
    write_json(config_json, j);
    const auto start = std::chrono::steady_clock::now();
    const std::string error = error_of([&] { policy::load_policy(dir); });
    CHECK(seconds_since(start) < 0.5);
    return error;
  };
  CHECK_THAT(load_error_with([](nlohmann::json& j) { j["vocab_size"] = 1'000'000'000'000; }),
             Contains(config_json.string() + ": vocab_size must be <= 16777216"));
  CHECK_THAT(load_error_with([](nlohmann::json& j) { j["hidden_size"] = 1'000'000'000; }),
             Contains(config_json.string() + ": hidden_size must be <= 16777216"));
  // Within every cap, but not what the file holds: the headers say so before anything is allocated.
  CHECK_THAT(load_error_with([](nlohmann::json& j) {
               j["vocab_size"] = int64_t{1} << 20;
               j["hidden_size"] = int64_t{1} << 16;
             }),
             Contains((dir / "model.safetensors").string() +
                      ": tensor 'model.embed_tokens.weight' has shape "
                      "[320, 32], but " +
                      config_json.string() + " expects [1048576, 65536]"));
  CHECK(load_error_with([](nlohmann::json&) {}) == "(no error)");
}

TEST_CASE("a config.json that disagrees with its weights names the file and the tensor") {
  testing::TempDir tmp("disagree");
  const fs::path dir = testing::make_tiny_policy(tmp / "p");
  const fs::path config_json = dir / "config.json";
  nlohmann::json j = read_json(config_json);
  j["intermediate_size"] = 64;  // the dense first layer is 48 wide
  write_json(config_json, j);
  CHECK_THAT(error_of([&] { policy::load_policy(dir); }),
             Contains((dir / "model.safetensors").string()) &&
                 Contains("tensor 'model.layers.0.mlp.gate_proj.weight' has shape [48, 32]") &&
                 Contains(config_json.string() + " expects [64, 32]"));
  // Sharded: the error names the shard that holds the tensor.
  policy::Transformer model(testing::tiny_config());
  model->init_weights(1);
  const fs::path sharded = tmp / "sharded";
  policy::save_policy(*model, testing::tiny_tokenizer_path(), sharded, {}, /*max_shard_bytes=*/20'000);
  const nlohmann::json index = read_json(sharded / "model.safetensors.index.json");
  const std::string shard = index["weight_map"]["model.layers.0.mlp.gate_proj.weight"];
  write_json(sharded / "config.json", j);
  CHECK_THAT(error_of([&] { policy::load_policy(sharded); }),
             Contains((sharded / shard).string() + ": tensor 'model.layers.0.mlp.gate_proj.weight'"));
  // One layer more than the file has: the first tensor of that layer is missing, named with its shape.
  j = read_json(dir / "config.json");
  j["intermediate_size"] = 48;
  j["num_hidden_layers"] = 4;
  write_json(config_json, j);
  CHECK_THAT(error_of([&] { policy::load_policy(dir); }),
             Contains((dir / "model.safetensors").string() +
                      ": missing tensor 'model.layers.3.input_layernorm.weight' (shape [32]"));
}

TEST_CASE("a FIFO or directory or device as a model file is an error naming the path and never a hang") {
  testing::TempDir tmp("fifo");
  const fs::path good = testing::make_tiny_policy(tmp / "good");
  int copies = 0;
  auto copy = [&] {
    const fs::path dir = tmp / ("copy" + std::to_string(copies++));
    fs::copy(good, dir);
    return dir;
  };
  for (const char* name : {"model.safetensors", "config.json", "tokenizer.json"}) {
    INFO(name);
    const fs::path dir = copy();
    make_fifo(dir / name);
    CHECK_THAT(error_or_blocked([&] { policy::load_policy(dir); }, {dir / name}),
               Contains((dir / name).string() + ": is a FIFO, not a regular file"));
  }
  {
    const fs::path dir = copy();
    make_fifo(dir / "config.json");
    CHECK_THAT(
        error_or_blocked([&] { policy::load_model_config(dir / "config.json"); }, {dir / "config.json"}),
        Contains((dir / "config.json").string() + ": not a regular file"));
  }
  {  // a directory, a character device
    const fs::path dir = copy();
    fs::remove(dir / "model.safetensors");
    fs::create_directory(dir / "model.safetensors");
    CHECK_THAT(error_of([&] { policy::load_policy(dir); }),
               Contains((dir / "model.safetensors").string() + ": is a directory, not a regular file"));
    fs::remove(dir / "model.safetensors");
    fs::create_symlink("/dev/zero", dir / "model.safetensors");
    CHECK_THAT(
        error_of([&] { policy::load_policy(dir); }),
        Contains((dir / "model.safetensors").string() + ": is a character device, not a regular file"));
    // A link to a regular file is that file (HF's cache links every file of a snapshot).
    fs::remove(dir / "model.safetensors");
    fs::create_symlink(good / "model.safetensors", dir / "model.safetensors");
    CHECK(error_of([&] { policy::load_policy(dir); }) == "(no error)");
  }
  {  // shards: the index and a shard
    const fs::path sharded = tmp / "sharded";
    policy::Transformer model(testing::tiny_config());
    model->init_weights(1);
    policy::save_policy(*model, testing::tiny_tokenizer_path(), sharded, {}, /*max_shard_bytes=*/20'000);
    const fs::path index = sharded / "model.safetensors.index.json";
    const std::string text = [&] {
      std::ifstream in(index);
      return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    const std::string shard = read_json(index)["weight_map"]["model.embed_tokens.weight"];
    make_fifo(index);
    CHECK_THAT(error_or_blocked([&] { policy::load_policy(sharded); }, {index}),
               Contains(index.string() + ": is a FIFO, not a regular file"));
    CHECK_THAT(error_or_blocked([&] { policy::load_checkpoint_tensors(sharded); }, {index}),
               Contains(index.string() + ": is a FIFO, not a regular file"));
    fs::remove(index);
    std::ofstream(index) << text;
    make_fifo(sharded / shard);
    CHECK_THAT(error_or_blocked([&] { policy::load_policy(sharded); }, {sharded / shard}),
               Contains(index.string()) && Contains((sharded / shard).string() + " is a FIFO"));
    CHECK_THAT(error_or_blocked([&] { policy::load_checkpoint_tensors(sharded); }, {sharded / shard}),
               Contains((sharded / shard).string() + " is a FIFO"));
  }
  {  // tokenizer_config.json, read on its own by the chat template and the CLI
    const fs::path dir = copy();
    make_fifo(dir / "tokenizer_config.json");
    const policy::Tokenizer tokenizer = policy::Tokenizer::load(dir / "tokenizer.json");
    CHECK_THAT(error_or_blocked([&] { policy::load_tokenizer_config_from_dir(dir, tokenizer); },
                                {dir / "tokenizer_config.json"}),
               Contains((dir / "tokenizer_config.json").string()) && !Contains("(blocked)"));
  }
}
