// safetensors tests: bitwise round trips of every dtype (0-d, empty, non-contiguous, NaN/-0.0 payloads),
// exact reads of a file written by the Python `safetensors` package, one error per kind of hostile file,
// and the atomic-save contract (no partial or temp file is ever left under the directory).
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "policy/safetensors.h"
#include "tests/common/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aha::policy::load_safetensors;
using aha::policy::safetensors_metadata;
using aha::policy::save_safetensors;
using aha::policy::TensorMap;
using aha::policy::TensorStorage;

using aha::testing::TempDir;

// Same dtype, same shape, same bytes: stricter than torch::equal (NaN payloads, -0.0).
bool bitwise_equal(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const torch::Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), static_cast<size_t>(ca.numel()) * ca.element_size()) == 0;
}

// A file made of a raw header string and `data_bytes` bytes of data, for hostile inputs.
fs::path write_raw(const fs::path& path, const std::string& header, size_t data_bytes,
                   std::optional<uint64_t> header_length = std::nullopt, uint8_t fill = 0) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = header_length.value_or(header.size());
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << std::string(data_bytes, static_cast<char>(fill));
  return path;
}

std::string load_error(const fs::path& file, TensorStorage storage = TensorStorage::kOwned) {
  try {
    load_safetensors(file, storage);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("loading " << file << " did not throw");
  return {};
}

}  // namespace

// Guards dtype mapping, itemsizes and offsets of the writer against the reader for every supported dtype.
TEST_CASE("save/load round trip is bitwise exact for every dtype", "[safetensors]") {
  torch::manual_seed(7);
  TensorMap tensors;
  torch::Tensor f32 = torch::randn({3, 5});
  f32[0][0] = std::numeric_limits<float>::quiet_NaN();
  f32[0][1] = -0.0f;
  f32[0][2] = std::numeric_limits<float>::infinity();
  tensors["f64"] = torch::randn({4, 2}, torch::kFloat64);
  tensors["f32"] = f32;
  tensors["f16"] = torch::randn({2, 3, 4}).to(torch::kFloat16);
  tensors["bf16"] = torch::randn({7}).to(torch::kBFloat16);
  tensors["i64"] = torch::randint(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                                  {5}, torch::kInt64);
  tensors["i32"] = torch::randint(-100000, 100000, {3, 3}, torch::kInt32);
  tensors["i16"] = torch::randint(-30000, 30000, {6}, torch::kInt16);
  tensors["i8"] = torch::randint(-128, 128, {9}, torch::kInt8);
  tensors["u8"] = torch::randint(0, 256, {2, 2}, torch::kUInt8);
  tensors["bool"] = torch::randint(0, 2, {11}, torch::kInt64).to(torch::kBool);
  tensors["scalar_f32"] = torch::tensor(2.25f);
  tensors["scalar_i64"] = torch::tensor(int64_t{-9});
  tensors["empty_f32"] = torch::zeros({0, 3});
  tensors["empty_bf16"] = torch::zeros({4, 0}, torch::kBFloat16);
  tensors["transposed"] = torch::arange(12, torch::kFloat32).reshape({3, 4}).t();  // non-contiguous input
  tensors["model.layers.0.self_attn.q_a_proj.weight"] = torch::randn({8, 4});

  TempDir dir;
  const fs::path file = dir.path / "model.safetensors";
  save_safetensors(file, tensors, {{"format", "pt"}, {"step", "12"}});
  const TensorMap loaded = load_safetensors(file);
  REQUIRE(loaded.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO("tensor " << name);
    REQUIRE(loaded.count(name) == 1);
    const torch::Tensor& l = loaded.at(name);
    REQUIRE(l.is_contiguous());
    REQUIRE(l.device().is_cpu());
    REQUIRE(bitwise_equal(l, t));
  }
  REQUIRE(safetensors_metadata(file) == std::map<std::string, std::string>{{"format", "pt"}, {"step", "12"}});

  // The header is padded so the data buffer starts 8-byte aligned.
  std::ifstream in(file, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  REQUIRE(n % 8 == 0);
}

TEST_CASE("metadata defaults and an empty map", "[safetensors]") {
  TempDir dir;
  save_safetensors(dir.path / "a.safetensors", {{"x", torch::ones({2})}});
  REQUIRE(safetensors_metadata(dir.path / "a.safetensors") ==
          std::map<std::string, std::string>{{"format", "pt"}});
  save_safetensors(dir.path / "b.safetensors", {{"x", torch::ones({2})}}, {});
  REQUIRE(safetensors_metadata(dir.path / "b.safetensors").empty());
  save_safetensors(dir.path / "c.safetensors", {});
  REQUIRE(load_safetensors(dir.path / "c.safetensors").empty());
}

// The fixture was written by the reference Python package (scripts/make_safetensors_fixture.py), whose
// layout (dtype-sorted offsets, its own padding) differs from ours: the reader must not depend on our order.
TEST_CASE("reads a file written by Python safetensors with exact values", "[safetensors]") {
  const fs::path file = fs::path(AHA_SOURCE_DIR) / "tests" / "fixtures" / "safetensors_py.safetensors";
  const TensorMap t = load_safetensors(file);
  TensorMap expected;
  expected["f64"] = torch::arange(5, torch::kFloat64) / 3;
  expected["f32"] = torch::arange(12, torch::kFloat32).reshape({3, 4}) * 0.5 - 1;
  expected["f16"] = torch::arange(6, torch::kFloat16).reshape({2, 3}) / 4;
  expected["bf16"] = torch::arange(8, torch::kBFloat16) * 0.25 - 1;
  expected["i64"] = torch::arange(6, torch::kInt64) * int64_t{1'000'000'000'007} - 3;
  expected["i32"] = torch::arange(-5, 5, torch::kInt32).reshape({2, 5});
  expected["i16"] = torch::arange(-4, 4, torch::kInt16) * 1000;
  expected["i8"] = torch::arange(-128, 128, 17, torch::kInt8);
  expected["u8"] = torch::arange(0, 256, 15, torch::kUInt8);
  expected["bool"] = torch::arange(7) % 3 == 0;
  expected["scalar"] = torch::tensor(3.5f);
  expected["empty"] = torch::zeros({0, 4});
  expected["nested.name.weight"] = torch::arange(4, torch::kFloat32).reshape({2, 1, 2});
  REQUIRE(t.size() == expected.size());
  for (const auto& [name, e] : expected) {
    INFO("tensor " << name);
    REQUIRE(t.count(name) == 1);
    REQUIRE(bitwise_equal(t.at(name), e));
  }
  // Spot values, so the test does not only compare torch against torch.
  REQUIRE(t.at("i64")[5].item<int64_t>() == 5'000'000'000'032);
  REQUIRE(t.at("f32")[2][3].item<float>() == 4.5f);
  REQUIRE(t.at("u8")[17].item<int64_t>() == 255);
  REQUIRE(safetensors_metadata(file) ==
          std::map<std::string, std::string>{{"format", "pt"}, {"source", "make_safetensors_fixture.py"}});
}

// Each hostile file gives a one-line error that names the file (and the tensor where there is one).
TEST_CASE("hostile files are rejected with errors naming file and tensor", "[safetensors]") {
  TempDir dir;
  auto check = [](const fs::path& file, const std::vector<std::string>& must_contain) {
    const std::string message = load_error(file);
    INFO("message: " << message);
    REQUIRE(load_error(file, TensorStorage::kMapped) == message);  // the same checks before mapping
    REQUIRE(message.find(file.filename().string()) != std::string::npos);
    for (const std::string& s : must_contain) REQUIRE(message.find(s) != std::string::npos);
    REQUIRE(message.find('\n') == std::string::npos);
  };
  const auto p = [&](const char* name) { return dir.path / name; };

  std::ofstream(p("short.safetensors"), std::ios::binary) << "abcd";
  check(p("short.safetensors"), {"shorter than the 8-byte header length"});
  check(write_raw(p("long_header.safetensors"), "{}", 10, 1000),
        {"header length 1000 is larger than the file"});
  check(write_raw(p("bad_json.safetensors"), "{\"x\": {\"dtype\": ", 0), {"invalid JSON"});
  check(write_raw(p("not_object.safetensors"), "[1, 2]  ", 0), {"not a JSON object"});
  check(write_raw(p("no_dtype.safetensors"), R"({"w":{"shape":[2],"data_offsets":[0,8]}})", 8),
        {"tensor 'w'", "dtype"});
  check(write_raw(p("c64.safetensors"), R"({"w":{"dtype":"C64","shape":[2],"data_offsets":[0,16]}})", 16),
        {"tensor 'w'", "unsupported dtype 'C64'"});
  check(
      write_raw(p("bad_shape.safetensors"), R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
      {"tensor 'w'", "\"shape\" must be a list of non-negative integers"});
  check(write_raw(p("no_offsets.safetensors"), R"({"w":{"dtype":"F32","shape":[2]}})", 8),
        {"tensor 'w'", "\"data_offsets\" must be [begin, end]"});
  check(write_raw(p("reversed.safetensors"), R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8),
        {"tensor 'w'", "\"data_offsets\" must be [begin, end]"});
  check(write_raw(p("size.safetensors"), R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
        {"tensor 'w'", "hold 8 bytes", "needs 3 x 4"});
  check(write_raw(p("range.safetensors"), R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
        {"tensor 'w'", "run past the data buffer (8 bytes)"});
  check(
      write_raw(
          p("overlap.safetensors"),
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
          12),
      {"tensor 'b'", "tensor 'a' ends at 8", "(overlap)"});
  check(
      write_raw(
          p("gap.safetensors"),
          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
          12),
      {"tensor 'b'", "(gap)"});
  check(write_raw(p("lead_gap.safetensors"), R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2),
        {"tensor 'a'", "(gap)"});
  check(write_raw(p("trailing.safetensors"), R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 5),
        {"trailing bytes"});
  check(write_raw(p("bool.safetensors"), R"({"flag":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", 3,
                  std::nullopt, 2),
        {"tensor 'flag'", "BOOL"});
  check(write_raw(p("meta.safetensors"), R"({"__metadata__":{"step":3}})", 0),
        {"__metadata__", "not a string"});
  check(p("missing.safetensors"), {"cannot open"});

  // Found by the fuzzer (tests/fuzz): a number beyond double range is nlohmann's out_of_range, not a
  // parse_error, and escaped the reader as an exception that named no file.
  check(write_raw(p("huge_number.safetensors"), R"({"__metadata__":{"x":1e400}})", 0), {"invalid JSON"});
  check(write_raw(p("not_utf8.safetensors"),
                  "{\"w\xff\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
        {"invalid JSON", "UTF-8"});
  // A deep nest parses (nlohmann is iterative) but would overflow the stack of the recursive dump that
  // error messages use.
  check(write_raw(p("deep.safetensors"),
                  "{\"w\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}", 0),
        {"nests deeper than 64 levels"});
  check(write_raw(p("max_length.safetensors"), "{}", 0, std::numeric_limits<uint64_t>::max()),
        {"header length 18446744073709551615 is larger than the file (10 bytes)"});
  check(write_raw(p("lowercase.safetensors"), R"({"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", 4),
        {"tensor 'w'", "unsupported dtype 'f32'"});
  // numel overflows u64: without the check 2^32 x 2^32 x 2 would wrap to a 0-byte tensor.
  check(write_raw(p("numel_overflow.safetensors"),
                  R"({"w":{"dtype":"U8","shape":[4294967296,4294967296,2],"data_offsets":[0,0]}})", 0),
        {"tensor 'w'", "\"shape\" must be a list of non-negative integers"});
  check(write_raw(p("byte_overflow.safetensors"),
                  R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0),
        {"tensor 'w'", "hold 0 bytes"});
  check(write_raw(p("float_offsets.safetensors"),
                  R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1.0]}})", 1),
        {"tensor 'w'", "\"data_offsets\" must be [begin, end]"});
  check(write_raw(p("entry_not_object.safetensors"), R"({"w":[1,2]})", 0),
        {"tensor 'w'", "expected {\"dtype\", \"shape\", \"data_offsets\"}"});

  // A real file cut short: the header still parses, the last tensor runs past the data buffer.
  TensorMap two = {{"a", torch::ones({4})}, {"b", torch::ones({4})}};
  save_safetensors(p("cut.safetensors"), two);
  fs::resize_file(p("cut.safetensors"), fs::file_size(p("cut.safetensors")) - 1);
  check(p("cut.safetensors"), {"tensor 'b'", "run past the data buffer (31 bytes)"});
  // ... and cut inside the header.
  save_safetensors(p("cut_header.safetensors"), two);
  fs::resize_file(p("cut_header.safetensors"), 20);
  check(p("cut_header.safetensors"), {"is larger than the file (20 bytes)"});
}

// kMapped tensors are views into a private mapping: they must read the same bytes as kOwned, never write
// through to the file, stay valid after the file is unlinked (as a save's rename does to the old file), and
// a tensor the file leaves unaligned (a U8 of odd length before an F32) must come out aligned and right.
TEST_CASE("mapped tensors equal owned ones, are copy-on-write and outlive the file's name", "[safetensors]") {
  TempDir dir;
  torch::manual_seed(9);
  const fs::path file = dir.path / "model.safetensors";
  const TensorMap tensors = {{"f32", torch::randn({64, 33})},
                             {"bf16", torch::randn({5, 7}).to(torch::kBFloat16)},
                             {"i64", torch::arange(-5, 12, torch::kInt64)},
                             {"bool", torch::arange(9) % 2 == 0},
                             {"empty", torch::zeros({0, 4})},
                             {"scalar", torch::tensor(1.5)}};
  save_safetensors(file, tensors);
  const std::vector<char> bytes_before = [&] {
    std::ifstream in(file, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), {});
  }();
  TensorMap mapped = load_safetensors(file, TensorStorage::kMapped);
  REQUIRE(mapped.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO("tensor " << name);
    REQUIRE(bitwise_equal(mapped.at(name), t));
  }

  mapped.at("f32").fill_(7.0f);  // copy-on-write: the tensor changes, the file does not
  REQUIRE(mapped.at("f32").sum().item<float>() == 7.0f * 64 * 33);
  REQUIRE(bitwise_equal(load_safetensors(file).at("f32"), tensors.at("f32")));
  fs::remove(file);
  REQUIRE(bitwise_equal(mapped.at("i64"), tensors.at("i64")));  // the mapping outlives the name
  {
    std::ofstream out(dir.path / "check.safetensors", std::ios::binary);
    out.write(bytes_before.data(), static_cast<std::streamsize>(bytes_before.size()));
  }
  REQUIRE(bitwise_equal(load_safetensors(dir.path / "check.safetensors").at("bf16"), tensors.at("bf16")));

  // "a" (3 x U8) pushes "b" (F32) to data offset 3; our writer sorts names, so write it by hand.
  const std::string header = R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}})";
  std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  std::ofstream out(dir.path / "unaligned.safetensors", std::ios::binary);
  const uint64_t n = padded.size();
  const float b[2] = {1.25f, -3.5f};
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << padded << std::string("\x01\x02\x03", 3);
  out.write(reinterpret_cast<const char*>(b), sizeof b);
  out.close();
  const TensorMap unaligned = load_safetensors(dir.path / "unaligned.safetensors", TensorStorage::kMapped);
  REQUIRE(reinterpret_cast<uintptr_t>(unaligned.at("b").data_ptr()) % alignof(float) == 0);
  REQUIRE(unaligned.at("b")[0].item<float>() == 1.25f);
  REQUIRE(unaligned.at("b")[1].item<float>() == -3.5f);
  REQUIRE(unaligned.at("a")[2].item<int64_t>() == 3);
}

// A save replaces the previous file in one step and leaves no temp file; a save that fails leaves the
// old file untouched.
TEST_CASE("save is atomic and cleans up", "[safetensors]") {
  TempDir dir;
  const fs::path file = dir.path / "model.safetensors";
  save_safetensors(file, {{"w", torch::zeros({4})}});
  save_safetensors(file, {{"w", torch::ones({4})}, {"b", torch::ones({1})}});
  REQUIRE(dir.names() == std::vector<std::string>{"model.safetensors"});
  REQUIRE(load_safetensors(file).at("w").sum().item<float>() == 4.0f);

  const auto complex = torch::zeros({2}, torch::kComplexFloat);
  REQUIRE_THROWS_WITH(
      save_safetensors(file, {{"z", complex}}),
      Catch::Contains("model.safetensors") && Catch::Contains("tensor 'z': unsupported dtype"));
  REQUIRE_THROWS_WITH(save_safetensors(file, {{"__metadata__", torch::ones({1})}}),
                      Catch::Contains("reserved"));
  REQUIRE(dir.names() == std::vector<std::string>{"model.safetensors"});
  REQUIRE(load_safetensors(file).size() == 2);

  REQUIRE_THROWS_WITH(save_safetensors(dir.path / "no_such_dir" / "x.safetensors", {{"w", torch::ones({1})}}),
                      Catch::Contains("x.safetensors") && Catch::Contains("cannot create"));
}

TEST_CASE("save copies GPU tensors to CPU", "[safetensors][gpu]") {
  if (!torch::cuda::is_available()) {
    WARN("no CUDA device: skipped");
    return;
  }
  TempDir dir;
  const torch::Tensor t =
      torch::randn({3, 4}, torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16));
  save_safetensors(dir.path / "gpu.safetensors", {{"t", t}});
  REQUIRE(bitwise_equal(load_safetensors(dir.path / "gpu.safetensors").at("t"), t.cpu()));
}
