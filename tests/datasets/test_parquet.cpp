// read_parquet_rows and parquet_shards on files made by the real pyarrow and HuggingFace `datasets`
// (scripts/make_data_fixtures.py). Each Parquet fixture has its rows, as pyarrow reads them and mapped the
// way datasets/parquet.h says, in <name>.expected.jsonl beside it: aha's reader must give the same JSON row
// by row. Hand-written checks pin the mappings a shared mistake in script and reader could hide.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "datasets/jsonl.h"
#include "datasets/parquet.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kData = fs::path(AHA_SOURCE_DIR) / "tests/fixtures/data";

std::vector<json> expected_rows(fs::path parquet_file) {
  const fs::path jsonl = parquet_file.replace_extension(".expected.jsonl");
  std::ifstream in(jsonl);
  REQUIRE(in);
  std::vector<json> rows;
  aha::datasets::for_each_jsonl(in, jsonl.string(),
                                [&](const json& row, int64_t, const std::string&) { rows.push_back(row); });
  return rows;
}

// Row by row, so a failure names the row and shows both sides.
void check_rows_match_pyarrow(const fs::path& parquet_file) {
  const std::vector<json> rows = aha::datasets::read_parquet_rows(parquet_file);
  const std::vector<json> expected = expected_rows(parquet_file);
  REQUIRE(rows.size() == expected.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    INFO(parquet_file.filename().string() << " row " << i);
    CHECK(rows[i].dump() == expected[i].dump());
  }
}

std::vector<std::string> names_relative_to(const std::vector<fs::path>& files, const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& file : files) names.push_back(fs::relative(file, dir).string());
  return names;
}

}  // namespace

TEST_CASE("read_parquet_rows gives pyarrow's rows for every fixture, in file order", "[parquet]") {
  for (const char* name :
       {"verl_math.parquet", "nested_types.parquet", "code_rows.parquet",
        "gsm8k_style/data/train-00000-of-00002.parquet", "gsm8k_style/data/train-00001-of-00002.parquet",
        "gsm8k_style/data/test-00000-of-00001.parquet"}) {
    check_rows_match_pyarrow(kData / name);
  }
}

// nested_types is written two rows a row group: a reader that kept only the first group, or restarted the
// row count per chunk, would return 2 rows or put rows 2 and 3 over 0 and 1.
TEST_CASE("read_parquet_rows reads every row group and converts each type as parquet.h maps it",
          "[parquet]") {
  const std::vector<json> rows = aha::datasets::read_parquet_rows(kData / "nested_types.parquet");
  REQUIRE(rows.size() == 4);
  CHECK(rows[2]["i8"] == 127);
  CHECK(rows[2]["u64"].get<uint64_t>() == 18446744073709551615ull);
  CHECK(rows[0]["i64"].get<int64_t>() == INT64_MIN);
  CHECK(rows[0]["f32"].get<double>() == static_cast<double>(0.1f));  // float32 widened, not re-rounded
  CHECK(rows[1]["f32"].is_null());                                   // NaN
  CHECK(rows[2]["f64"].is_null());                                   // -inf
  CHECK(rows[2]["f16"].is_null());                                   // float16 inf
  CHECK(rows[1]["f16"] == -0.25);
  CHECK(rows[0]["nothing"].is_null());
  CHECK(rows[2]["text"] == "naïve ✓ 数学");
  CHECK(rows[2]["ints"] == json::parse("[null, 4]"));
  CHECK(rows[1]["words"] == json::parse(R"(["b", "c"])"));
  CHECK(rows[2]["pair"] == json::parse("[5, null]"));
  CHECK(rows[0]["record"] == json::parse(R"({"name": "x", "tags": ["p", "q"], "score": 0.5})"));
  CHECK(rows[2]["record"]["tags"].is_null());
  CHECK(rows[0]["counts"] == json::parse(R"({"a": 1, "b": 2})"));               // map<string, _> -> object
  CHECK(rows[0]["names_by_id"] == json::parse(R"([[1, "one"], [2, "two"]])"));  // map<int, _> -> pairs
  CHECK(rows[1]["names_by_id"] == json::parse(R"([[3, null]])"));
  CHECK(rows[2]["color"] == "red");  // dictionary decoded
  CHECK(rows[0]["day"] == "2024-02-29");
  CHECK(rows[2]["day"] == "0001-01-01");
  CHECK(rows[1]["moment"] == "1969-12-31T23:59:59");      // before the epoch: floor, not truncation
  CHECK(rows[2]["moment"] == "2000-01-01T00:00:00.001");  // ms unit: 3 digits
  CHECK(rows[2]["moment_utc"] == "1969-12-31T23:59:59.999999Z");
  CHECK(rows[1]["price"] == "-12.340");  // decimal keeps its scale
  CHECK(rows[0]["big_price"] == "12345678901234567890123456789.01");
  CHECK(rows[2]["blob"] == "ünï");
  for (const auto& [column, value] : rows[3].items()) {
    INFO("column " << column);
    CHECK(value.is_null());
  }
  CHECK(rows[3].size() == rows[0].size());
}

TEST_CASE("read_parquet_rows reads veRL's schema into the prompt messages and reward_model it expects",
          "[parquet]") {
  const std::vector<json> rows = aha::datasets::read_parquet_rows(kData / "verl_math.parquet");  // zstd pages
  REQUIRE(rows.size() == 4);
  CHECK(rows[0]["prompt"][0]["role"] == "user");
  CHECK(rows[0]["reward_model"] == json::parse(R"({"style": "rule", "ground_truth": "42"})"));
  CHECK(rows[3]["extra_info"] == json::parse(R"({"split": "train", "index": 3})"));
  const std::vector<json> code = aha::datasets::read_parquet_rows(kData / "code_rows.parquet");  // gzip pages
  REQUIRE(code.size() == 3);
  CHECK(code[1]["entry_point"] == "is_palindrome");
  CHECK(code[1]["canonical_solution"] == "    return text == text[::-1]\n");
}

TEST_CASE("read_parquet_rows names the file and Arrow's reason when it is not Parquet", "[parquet]") {
  for (const char* name : {"not_parquet.parquet", "truncated.parquet", "missing.parquet"}) {
    const std::string file = (kData / name).string();
    INFO(file);
    CHECK_THROWS_WITH(aha::datasets::read_parquet_rows(file),
                      Catch::StartsWith(file + ": cannot read as Parquet: "));
  }
  CHECK_THROWS_WITH(aha::datasets::read_parquet_rows(kData / "not_parquet.parquet"),
                    Catch::Contains("magic bytes"));
}

TEST_CASE("read_parquet_rows refuses a type or value that has no JSON form, naming file, column and type",
          "[parquet]") {
  const std::string unsupported = (kData / "unsupported_type.parquet").string();
  CHECK_THROWS_WITH(aha::datasets::read_parquet_rows(unsupported),
                    unsupported +
                        ": column 'wake_up' has Arrow type time64[us], which has no JSON form "
                        "(datasets/parquet.h lists the types read)");
  const std::string binary = (kData / "binary_not_utf8.parquet").string();
  CHECK_THROWS_WITH(
      aha::datasets::read_parquet_rows(binary),
      Catch::StartsWith(binary + ": column 'payload': a binary value of 12 bytes is not valid UTF-8"));
}

TEST_CASE("parquet_shards finds a Hub folder's shards of one split in order", "[parquet]") {
  const fs::path dir = kData / "gsm8k_style";
  CHECK(names_relative_to(aha::datasets::parquet_shards(dir, "train"), dir) ==
        std::vector<std::string>{"data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"});
  CHECK(names_relative_to(aha::datasets::parquet_shards(dir, "test"), dir) ==
        std::vector<std::string>{"data/test-00000-of-00001.parquet"});
  // The two train shards, read in shard order, are the split's rows in order.
  std::vector<json> train;
  for (const auto& shard : aha::datasets::parquet_shards(dir, "train"))
    for (auto& row : aha::datasets::read_parquet_rows(shard)) train.push_back(std::move(row));
  REQUIRE(train.size() == 5);
  CHECK(train[0]["answer"].get<std::string>().ends_with("#### 72"));
  CHECK(train[4]["answer"].get<std::string>().ends_with("#### 624"));
}

TEST_CASE("parquet_shards on an unknown split names the folder, the split and the files it has",
          "[parquet]") {
  const fs::path dir = kData / "gsm8k_style";
  CHECK_THROWS_WITH(
      aha::datasets::parquet_shards(dir, "validation"),
      Catch::StartsWith(dir.string() + ": split 'validation': no Parquet shards") &&
          Catch::EndsWith("it has data/test-00000-of-00001.parquet, data/train-00000-of-00002.parquet, "
                          "data/train-00001-of-00002.parquet"));
  CHECK_THROWS_WITH(aha::datasets::parquet_shards(kData / "no_such_folder", "train"),
                    Catch::Contains("not a folder"));
}

// The other layouts `datasets` and hand-made folders use, and a Hub folder with a shard missing (a partial
// download), which must not pass as a smaller split.
TEST_CASE("parquet_shards accepts the other split layouts and refuses an incomplete shard set", "[parquet]") {
  const fs::path dir = fs::temp_directory_path() / "aha_test_parquet_shards";
  fs::remove_all(dir);
  const fs::path shard = kData / "gsm8k_style/data/train-00000-of-00002.parquet";
  const auto place = [&](const std::string& relative) {
    fs::create_directories((dir / relative).parent_path());
    fs::copy_file(shard, dir / relative);
  };
  const auto shards = [&](const std::string& split) {
    return names_relative_to(aha::datasets::parquet_shards(dir, split), dir);
  };

  place("train.parquet");
  place("test-b.parquet");
  place("test-a.parquet");
  place("validation/part-1.parquet");
  place("validation/part-0.parquet");
  CHECK(shards("train") == std::vector<std::string>{"train.parquet"});
  CHECK(shards("test") == std::vector<std::string>{"test-a.parquet", "test-b.parquet"});
  CHECK(shards("validation") ==
        std::vector<std::string>{"validation/part-0.parquet", "validation/part-1.parquet"});
  place("data/train.parquet");  // data/ comes before the folder's top level
  CHECK(shards("train") == std::vector<std::string>{"data/train.parquet"});

  place("data/test-00000-of-00003.parquet");
  place("data/test-00002-of-00003.parquet");
  CHECK_THROWS_WITH(aha::datasets::parquet_shards(dir, "test"),
                    Catch::Contains("split 'test': the shards are incomplete"));
  fs::remove_all(dir);
}
