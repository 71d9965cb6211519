// Checkpoint directories: sharded save exactly as transformers cuts and indexes it, round trips through
// the loader, the HF side files that travel with tokenizer.json, FP8 in / unquantised out, and one clear
// error per kind of broken checkpoint (missing / unexpected / misshapen tensors, a broken index).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "policy/checkpoint.h"
#include "tests/common/tiny_model.h"

using namespace aha;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

nlohmann::json read_json(const fs::path& file) {
  return nlohmann::json::parse(read_text(file));
}

uint64_t nbytes(const torch::Tensor& t) {
  return static_cast<uint64_t>(t.numel()) * t.element_size();
}

bool same_tensors(const policy::TensorMap& a, const policy::TensorMap& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end() || it->second.scalar_type() != t.scalar_type() || !torch::equal(it->second, t))
      return false;
  }
  return true;
}

std::string load_error(const fs::path& dir) {
  try {
    policy::load_policy(dir);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

// A tiny policy saved in shards of at most 20 kB (the 40 kB embedding and lm_head get shards of their own).
fs::path make_sharded_policy(const fs::path& dir, uint64_t seed = 3) {
  policy::Transformer model(testing::tiny_config());
  model->init_weights(seed);
  policy::save_policy(*model, testing::tiny_tokenizer_path(), dir, {}, /*max_shard_bytes=*/20'000);
  return dir;
}

}  // namespace

// The expected layout and index bytes were printed by huggingface_hub 2.4's
// split_torch_state_dict_into_shards (what transformers' save_pretrained calls) and json.dumps(index,
// indent=2, sort_keys=True) + "\n": a tensor over the cap is a shard of its own, numbered when it is met,
// ahead of the shard being filled.
TEST_CASE("shards are cut and indexed byte for byte as transformers does", "[checkpoint]") {
  testing::TempDir dir("shard-layout");
  const policy::TensorMap tensors = {{"a", torch::full({1000}, 1.0f)},
                                     {"b", torch::full({1000}, 2.0f)},
                                     {"c", torch::full({3000}, 3.0f)},
                                     {"d", torch::full({750}, 4.0f)},
                                     {"e", torch::full({250}, 5.0f)}};
  policy::save_checkpoint_tensors(dir.path, tensors, /*max_shard_bytes=*/10'000);
  CHECK(dir.names() ==
        std::vector<std::string>{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                 "model-00003-of-00003.safetensors", "model.safetensors.index.json"});
  CHECK(read_text(dir / "model.safetensors.index.json") ==
        "{\n  \"metadata\": {\n    \"total_parameters\": 6000,\n    \"total_size\": 24000\n  },\n"
        "  \"weight_map\": {\n    \"a\": \"model-00002-of-00003.safetensors\",\n"
        "    \"b\": \"model-00002-of-00003.safetensors\",\n    \"c\": \"model-00001-of-00003.safetensors\",\n"
        "    \"d\": \"model-00003-of-00003.safetensors\",\n    \"e\": \"model-00003-of-00003.safetensors\"\n "
        " }\n}\n");
  for (const auto& file : {"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                           "model-00003-of-00003.safetensors"}) {
    INFO(file);
    CHECK(policy::safetensors_metadata(dir / file) == std::map<std::string, std::string>{{"format", "pt"}});
  }
  CHECK(policy::load_safetensors(dir / "model-00002-of-00003.safetensors").size() == 2);
  CHECK(same_tensors(policy::load_checkpoint_tensors(dir.path), tensors));
}

TEST_CASE("no cap (0) and the 5 GB default write one model.safetensors and no index", "[checkpoint]") {
  const policy::TensorMap tensors = {{"w", torch::randn({300, 40})}, {"b", torch::randn({40})}};
  for (uint64_t cap : {uint64_t{0}, policy::kDefaultMaxShardBytes}) {
    INFO("cap " << cap);
    testing::TempDir dir("one-file");
    policy::save_checkpoint_tensors(dir.path, tensors, cap);
    CHECK(dir.names() == std::vector<std::string>{"model.safetensors"});
    CHECK(same_tensors(policy::load_checkpoint_tensors(dir.path), tensors));
  }
  CHECK(policy::kDefaultMaxShardBytes == 5'000'000'000);
}

// Guards the shard writer and the sharded loader against each other on a real model, and the index totals.
TEST_CASE("a sharded policy save loads back with identical tensors and respects the cap", "[checkpoint]") {
  testing::TempDir tmp("sharded-policy");
  policy::Transformer model(testing::tiny_config());
  model->init_weights(3);
  const policy::TensorMap saved = policy::state_tensors(*model);
  const uint64_t cap = 20'000;
  policy::save_policy(*model, testing::tiny_tokenizer_path(), tmp / "p", {}, cap);
  const fs::path dir = tmp / "p";
  CHECK_FALSE(fs::exists(dir / "model.safetensors"));

  const nlohmann::json index = read_json(dir / "model.safetensors.index.json");
  uint64_t total_bytes = 0, total_parameters = 0;
  for (const auto& [name, t] : saved) total_bytes += nbytes(t), total_parameters += t.numel();
  CHECK(index["metadata"]["total_size"].get<uint64_t>() == total_bytes);
  CHECK(index["metadata"]["total_parameters"].get<uint64_t>() == total_parameters);

  // Every file the index names is model-0000k-of-0000N for k = 1..N, holds exactly the tensors the index
  // gives it, and stays within the cap unless it is one tensor bigger than the cap.
  std::map<std::string, std::set<std::string>> by_file;
  for (const auto& [name, file] : index["weight_map"].items()) by_file[file.get<std::string>()].insert(name);
  const size_t n = by_file.size();
  REQUIRE(n >= 4);
  size_t k = 1;
  for (const auto& [file, names] : by_file) {
    INFO(file);
    char expected[64];
    std::snprintf(expected, sizeof expected, "model-%05zu-of-%05zu.safetensors", k++, n);
    CHECK(file == expected);
    const policy::TensorMap shard = policy::load_safetensors(dir / file);
    std::set<std::string> held;
    uint64_t bytes = 0;
    for (const auto& [name, t] : shard) held.insert(name), bytes += nbytes(t);
    CHECK(held == names);
    CHECK((bytes <= cap || shard.size() == 1));
    if (shard.size() == 1) CHECK(bytes > 0);
    CHECK(policy::safetensors_metadata(dir / file) == std::map<std::string, std::string>{{"format", "pt"}});
  }
  // The 320 x 32 fp32 embedding (40,960 bytes) is over the cap: a shard of its own.
  CHECK(by_file[index["weight_map"]["model.embed_tokens.weight"].get<std::string>()].size() == 1);

  CHECK(same_tensors(policy::load_checkpoint_tensors(dir), saved));
  auto loaded = policy::load_policy(dir);
  CHECK(same_tensors(policy::state_tensors(*loaded.model), saved));
}

TEST_CASE("save_policy copies the HF files that sit beside tokenizer.json, and only those", "[checkpoint]") {
  testing::TempDir tmp("sidecars");
  fs::create_directories(tmp / "src");
  fs::copy_file(testing::tiny_tokenizer_path(), tmp / "src/tokenizer.json");
  const std::string tokenizer_config = R"({"chat_template": "{{ messages }}", "eos_token": "<|endoftext|>"})";
  const std::string generation_config = R"({"temperature": 0.6, "top_p": 0.95})";
  tmp.write("src/tokenizer_config.json", tokenizer_config);
  tmp.write("src/generation_config.json", generation_config);
  tmp.write("src/unrelated.txt", "not copied");

  policy::Transformer model(testing::tiny_config());
  model->init_weights(4);
  policy::save_policy(*model, tmp / "src/tokenizer.json", tmp / "out");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(tmp / "out")) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"config.json", "generation_config.json", "model.safetensors",
                                          "tokenizer.json", "tokenizer_config.json"});
  CHECK(read_text(tmp / "out/tokenizer_config.json") == tokenizer_config);
  CHECK(read_text(tmp / "out/generation_config.json") == generation_config);

  tmp.write("src/special_tokens_map.json", R"({"eos_token": "<|endoftext|>"})");
  policy::save_policy(*model, tmp / "src/tokenizer.json", tmp / "out");
  CHECK(fs::exists(tmp / "out/special_tokens_map.json"));

  // examples/tiny has no side files: nothing but the three core files is written.
  policy::save_policy(*model, testing::tiny_tokenizer_path(), tmp / "plain");
  names.clear();
  for (const auto& entry : fs::directory_iterator(tmp / "plain")) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"config.json", "model.safetensors", "tokenizer.json"});
}

// DeepSeek-V3 ships F8_E4M3 weights with per-block scales and a quantization_config; a policy loaded
// from that and saved again must be a plain checkpoint (dequantised tensors, no scales, no
// quantization_config), or a reload would dequantise twice or look for scales that are gone.
TEST_CASE("an FP8 block-scaled checkpoint loads dequantised and saves without quantization_config",
          "[checkpoint]") {
  testing::TempDir tmp("fp8");
  const fs::path dir = testing::make_tiny_policy(tmp / "fp8", 6);
  policy::TensorMap tensors = policy::load_safetensors(dir / "model.safetensors");
  const int64_t block = 16;
  std::map<std::string, torch::Tensor> expected;
  for (const std::string name : {"model.layers.0.self_attn.q_a_proj.weight",  // [24, 32]: 2 x 2 blocks
                                 "model.layers.1.mlp.experts.3.down_proj.weight"}) {  // [32, 16]: 2 x 1
    const torch::Tensor w = tensors.at(name);
    const int64_t rows = w.size(0), cols = w.size(1);
    const int64_t br = (rows + block - 1) / block, bc = (cols + block - 1) / block;
    torch::Tensor q = torch::empty({rows, cols}, torch::kFloat8_e4m3fn);
    torch::Tensor scale = torch::empty({br, bc});
    torch::Tensor dequantised = torch::empty({rows, cols});
    for (int64_t i = 0; i < br; ++i) {
      for (int64_t j = 0; j < bc; ++j) {
        const auto r = torch::indexing::Slice(i * block, std::min(rows, (i + 1) * block));
        const auto c = torch::indexing::Slice(j * block, std::min(cols, (j + 1) * block));
        const torch::Tensor part = w.index({r, c});
        const float s = part.abs().max().item<float>() / 448.0f;  // E4M3's largest finite value
        q.index_put_({r, c}, (part / s).to(torch::kFloat8_e4m3fn));
        scale[i][j] = s;
        dequantised.index_put_({r, c}, q.index({r, c}).to(torch::kFloat) * s);
      }
    }
    REQUIRE_FALSE(torch::equal(dequantised, w));  // quantisation changed the weight: the test can tell
    tensors[name] = q;
    tensors[name + "_scale_inv"] = scale;
    expected[name] = dequantised;
  }
  fs::remove(dir / "model.safetensors");
  policy::save_safetensors(dir / "model.safetensors", tensors);
  nlohmann::json config = read_json(dir / "config.json");
  config["quantization_config"] = {{"activation_scheme", "dynamic"},
                                   {"fmt", "e4m3"},
                                   {"quant_method", "fp8"},
                                   {"weight_block_size", {block, block}}};
  std::ofstream(dir / "config.json") << config.dump(2);

  auto policy = policy::load_policy(dir);
  auto state = policy::state_tensors(*policy.model);
  for (const auto& [name, t] : expected) {
    INFO(name);
    CHECK(torch::equal(state.at(name), t));
  }

  policy::save_policy(*policy.model, dir / "tokenizer.json", tmp / "plain");
  CHECK_FALSE(read_json(tmp / "plain/config.json").contains("quantization_config"));
  const policy::TensorMap written = policy::load_safetensors(tmp / "plain/model.safetensors");
  for (const auto& [name, t] : written) {
    INFO(name);
    CHECK(name.find("_scale_inv") == std::string::npos);
    CHECK(t.scalar_type() == torch::kFloat);
  }
  for (const auto& [name, t] : expected) CHECK(torch::equal(written.at(name), t));
  CHECK(same_tensors(policy::state_tensors(*policy::load_policy(tmp / "plain").model), state));

  // A block size of 0 would divide by zero: it is an error naming the field instead.
  config["quantization_config"]["weight_block_size"] = {0, block};
  std::ofstream(dir / "config.json") << config.dump(2);
  CHECK_THAT(load_error(dir), Catch::Contains("config.json") && Catch::Contains("weight_block_size") &&
                                  Catch::Contains("[0,16]"));
}

// Each broken single-file checkpoint is an error naming the file and the tensor.
TEST_CASE("missing, unexpected and misshapen tensors are errors naming file and tensor", "[checkpoint]") {
  testing::TempDir tmp("bad-tensors");
  const fs::path dir = testing::make_tiny_policy(tmp / "p", 7);
  const fs::path file = dir / "model.safetensors";
  const policy::TensorMap good = policy::load_safetensors(file);
  auto with = [&](const std::function<void(policy::TensorMap&)>& change) {
    policy::TensorMap t = good;
    change(t);
    policy::save_safetensors(file, t);
    return load_error(dir);
  };
  const std::string q = "model.layers.0.self_attn.q_a_proj.weight";
  CHECK_THAT(with([&](policy::TensorMap& t) { t.erase(q); }),
             Catch::Contains(file.string()) && Catch::Contains("missing tensor '" + q + "'") &&
                 Catch::Contains("[24, 32]"));
  CHECK_THAT(
      with([&](policy::TensorMap& t) { t["model.layers.0.self_attn.extra.weight"] = torch::ones({2}); }),
      Catch::Contains(file.string()) &&
          Catch::Contains("unexpected tensor 'model.layers.0.self_attn.extra.weight'"));
  CHECK_THAT(with([&](policy::TensorMap& t) {
               t[q] = torch::ones({32, 24});
             }),
             Catch::Contains(file.string()) && Catch::Contains("tensor '" + q + "' has shape [32, 24]") &&
                 Catch::Contains("expects [24, 32]"));
  // Layers past num_hidden_layers are MTP layers only when num_nextn_predict_layers says so (0 here).
  CHECK_THAT(with([&](policy::TensorMap& t) { t["model.layers.3.eh_proj.weight"] = torch::ones({2}); }),
             Catch::Contains("unexpected tensor 'model.layers.3.eh_proj.weight'"));
  CHECK(with([&](policy::TensorMap&) {}) == "(no error)");
}

// Each broken index is an error naming model.safetensors.index.json (or the shard) and the tensor.
TEST_CASE("a broken model.safetensors.index.json is an error naming the index, shard and tensor",
          "[checkpoint]") {
  testing::TempDir tmp("bad-index");
  const fs::path good = make_sharded_policy(tmp / "good");
  const nlohmann::json index = read_json(good / "model.safetensors.index.json");
  const std::string index_name = "model.safetensors.index.json";
  int copies = 0;
  auto copy = [&]() {
    const fs::path dir = tmp / ("copy" + std::to_string(copies++));
    fs::copy(good, dir);
    return dir;
  };
  auto with_index = [&](const std::string& text) {
    const fs::path dir = copy();
    std::ofstream(dir / index_name) << text;
    return load_error(dir);
  };
  const std::string q = "model.layers.0.self_attn.q_a_proj.weight";
  const std::string q_file = index["weight_map"][q].get<std::string>();
  std::string other_file;
  for (const auto& [name, file] : index["weight_map"].items())
    if (file != q_file) other_file = file.get<std::string>();
  REQUIRE(fs::exists(good / other_file));

  {  // a shard the index names is not there
    const fs::path dir = copy();
    fs::remove(dir / q_file);
    CHECK_THAT(load_error(dir), Catch::Contains(index_name) && Catch::Contains(q_file) &&
                                    Catch::Contains("does not exist") && Catch::Contains("tensor '"));
  }
  {  // the index puts a tensor in the wrong shard
    nlohmann::json wrong = index;
    wrong["weight_map"][q] = other_file;
    CHECK_THAT(with_index(wrong.dump()), Catch::Contains(q) && Catch::Contains(index_name));
  }
  {  // a shard holds a tensor the index does not list
    nlohmann::json unlisted = index;
    unlisted["weight_map"].erase(q);
    CHECK_THAT(with_index(unlisted.dump()), Catch::Contains(q_file) &&
                                                Catch::Contains("tensor '" + q + "'") &&
                                                Catch::Contains("not listed for this file"));
  }
  {  // the index lists a tensor that no shard holds
    nlohmann::json phantom = index;
    phantom["weight_map"]["model.layers.0.self_attn.phantom.weight"] = q_file;
    CHECK_THAT(with_index(phantom.dump()), Catch::Contains(index_name) &&
                                               Catch::Contains("'model.layers.0.self_attn.phantom.weight'") &&
                                               Catch::Contains("does not hold it"));
  }
  {  // a tensor of the model is in no shard: the missing-tensor error names the index
    const fs::path dir = copy();
    policy::TensorMap shard = policy::load_safetensors(dir / q_file);
    shard.erase(q);
    policy::save_safetensors(dir / q_file, shard);
    nlohmann::json without = index;
    without["weight_map"].erase(q);
    std::ofstream(dir / index_name) << without.dump();
    CHECK_THAT(load_error(dir), Catch::Contains(index_name) && Catch::Contains("missing tensor '" + q + "'"));
  }
  CHECK_THAT(with_index("{\"weight_map\": {"),
             Catch::Contains(index_name) && Catch::Contains("invalid JSON"));
  CHECK_THAT(with_index(R"({"metadata": {}})"), Catch::Contains(index_name) && Catch::Contains("weight_map"));
  CHECK_THAT(
      with_index(R"({"weight_map": {"lm_head.weight": "../model.safetensors"}})"),
      Catch::Contains(index_name) && Catch::Contains("weight_map['lm_head.weight'] must be a file name"));
  CHECK_THAT(with_index(R"({"weight_map": {"lm_head.weight": 3}})"),
             Catch::Contains(index_name) && Catch::Contains("must be a file name"));
  {  // a truncated shard names the shard file
    const fs::path dir = copy();
    fs::resize_file(dir / q_file, fs::file_size(dir / q_file) - 3);
    CHECK_THAT(load_error(dir), Catch::Contains(q_file) && Catch::Contains("run past the data buffer"));
  }
  CHECK(load_error(copy()) == "(no error)");
}
