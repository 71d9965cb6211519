// Tokenizer tests: bit-exact parity with HF `tokenizers` on fixtures that scripts/make_tiny_tokenizer.py
// wrote from HF itself (ids of every case, decode of random id sequences), round trips, and the load
// errors a user sees for files we do not support.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "tests/common/temp_dir.h"
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "policy/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using aha::policy::Tokenizer;
using json = nlohmann::json;

const fs::path kFixtures = fs::path(AHA_SOURCE_DIR) / "tests" / "fixtures";
const fs::path kTinyTokenizer = fs::path(AHA_SOURCE_DIR) / "examples" / "tiny" / "tokenizer.json";

json read_json(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return json::parse(in);
}

using aha::testing::TempDir;

// Every HF case encodes to HF's ids and decodes back to its text.
void check_cases(const Tokenizer& tok, const json& cases) {
  REQUIRE(cases.size() > 50);
  for (const json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    INFO("text: " << json(text).dump());
    const std::vector<int64_t> ids = tok.encode(text);
    REQUIRE(ids == c["ids"].get<std::vector<int64_t>>());
    REQUIRE(tok.decode(ids) == text);
  }
}

std::string load_error(const fs::path& file) {
  try {
    Tokenizer::load(file);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("loading " << file << " did not throw");
  return {};
}

}  // namespace

// Guards the Digits + ByteLevel(GPT-2 regex) pipeline and the BPE merge order of the tiny model.
TEST_CASE("tiny tokenizer matches HF ids on every case", "[tokenizer]") {
  const Tokenizer tok = Tokenizer::load(kTinyTokenizer);
  check_cases(tok, read_json(kFixtures / "tiny_tokenizer_cases.json"));
}

// Guards Split with a Qwen2/Llama-3 regex (Unicode \s, (?i:...), the \s+(?!\S) emulation) and
// normalized, non-special added tokens.
TEST_CASE("split-regex tokenizer matches HF ids on every case", "[tokenizer]") {
  const Tokenizer tok = Tokenizer::load(kFixtures / "split_tokenizer.json");
  check_cases(tok, read_json(kFixtures / "split_tokenizer_cases.json"));
}

// Each variant swaps one piece of the tiny tokenizer (a Split behaviour, invert, a String pattern, an
// empty-matching regex, GPT-2 prefix spaces, DeepSeek/Llama-3 patterns, added-token flags, legacy merges,
// ignore_merges) and carries HF's ids and HF's decode of random ids, partial UTF-8 included.
TEST_CASE("pipeline variants match HF encode and decode", "[tokenizer]") {
  const json base = read_json(kTinyTokenizer);
  const json fixture = read_json(kFixtures / "tokenizer_variant_cases.json");
  const json& texts = fixture["texts"];
  TempDir dir;
  REQUIRE(fixture["variants"].size() >= 15);
  for (const json& variant : fixture["variants"]) {
    const std::string name = variant["name"].get<std::string>();
    INFO("variant: " << name);
    json data = base;
    for (const auto& [key, value] : variant["patch"].items()) {
      if (key == "model") {
        for (const auto& [model_key, model_value] : value.items()) data["model"][model_key] = model_value;
      } else {
        data[key] = value;
      }
    }
    const Tokenizer tok = Tokenizer::load(dir.write(name + ".json", data.dump()));
    const json& ids = variant["ids"];
    REQUIRE(ids.size() == texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      INFO("text: " << texts[i].dump());
      REQUIRE(tok.encode(texts[i].get<std::string>()) == ids[i].get<std::vector<int64_t>>());
    }
    for (const json& c : variant["decode_cases"]) {
      INFO("ids: " << c["ids"].dump());
      REQUIRE(tok.decode(c["ids"].get<std::vector<int64_t>>(), c["skip_special"].get<bool>()) ==
              c["text"].get<std::string>());
    }
  }
}

// Guards the special-token plumbing the rollout relies on (EOS id, skipping specials in decode).
TEST_CASE("special tokens: id, matching inside text, skip_special", "[tokenizer]") {
  const Tokenizer tok = Tokenizer::load(kTinyTokenizer);
  REQUIRE(tok.token_to_id("<|endoftext|>") == 0);
  REQUIRE(tok.token_text(0) == "<|endoftext|>");
  REQUIRE(tok.vocab_size() == 298);  // HF get_vocab_size(with_added_tokens=True) of the committed file
  REQUIRE_FALSE(tok.token_to_id("no such token").has_value());
  REQUIRE(tok.token_to_id("Ġ") == tok.encode(" ").at(0));  // raw byte-level spelling of a space

  const std::vector<int64_t> ids = tok.encode("4<|endoftext|>2");
  REQUIRE(ids.size() == 3);
  REQUIRE(ids[1] == 0);
  REQUIRE(tok.decode(ids) == "4<|endoftext|>2");
  REQUIRE(tok.decode(ids, /*skip_special=*/true) == "42");
  REQUIRE(tok.encode("").empty());
  REQUIRE(tok.decode({}).empty());
  // Ids outside the vocabulary (e.g. padded embedding rows) are skipped by decode, rejected by token_text.
  REQUIRE(tok.decode({ids[0], 100000, -1}) == "4");
  REQUIRE_THROWS_AS(tok.token_text(100000), std::out_of_range);

  // Non-special added tokens survive skip_special.
  const Tokenizer split = Tokenizer::load(kFixtures / "split_tokenizer.json");
  const auto think = split.token_to_id("<think>");
  REQUIRE(think.has_value());
  const std::vector<int64_t> t = split.encode("<think>x</think><|endoftext|>");
  REQUIRE(t.front() == *think);
  REQUIRE(split.decode(t, /*skip_special=*/true) == "<think>x</think>");
}

// A token that is half of a multi-byte character decodes to U+FFFD on its own and to the character when
// joined with its other half: what streaming detokenization in the rollout has to cope with.
TEST_CASE("partial UTF-8 decodes like HF, whole characters round trip", "[tokenizer]") {
  const Tokenizer tok = Tokenizer::load(kTinyTokenizer);
  const std::vector<int64_t> ids =
      tok.encode("中");  // three byte tokens: no merges for CJK in the tiny vocab
  REQUIRE(ids.size() == 3);
  REQUIRE(tok.token_text(ids[0]) == "\xEF\xBF\xBD");
  REQUIRE(tok.decode({ids[0], ids[1]}) == "\xEF\xBF\xBD");  // one maximal ill-formed subpart, one U+FFFD
  REQUIRE(tok.decode(ids) == "中");
}

TEST_CASE("encode is stable across the word cache and many calls", "[tokenizer]") {
  const Tokenizer tok = Tokenizer::load(kTinyTokenizer);
  const std::string text = "Assistant: <think>12 + 34 = 46.</think> <answer>46</answer>";
  const std::vector<int64_t> first = tok.encode(text);
  for (int i = 0; i < 3; ++i) REQUIRE(tok.encode(text) == first);
  const Tokenizer copy = tok;  // copies share the cache and stay correct
  REQUIRE(copy.encode(text) == first);
}

// The documented load errors: each names the file and the field, in one line.
TEST_CASE("bad tokenizer files give errors naming file and field", "[tokenizer]") {
  TempDir dir;
  const json base = read_json(kTinyTokenizer);
  auto variant = [&](const std::string& name, const std::function<void(json&)>& edit) {
    json data = base;
    edit(data);
    return dir.write(name, data.dump());
  };
  auto check = [](const fs::path& file, const std::string& must_contain) {
    const std::string message = load_error(file);
    INFO("message: " << message);
    REQUIRE(message.find(file.filename().string()) != std::string::npos);
    REQUIRE(message.find(must_contain) != std::string::npos);
    REQUIRE(message.find('\n') == std::string::npos);
  };

  check(dir.path / "missing.json", "cannot open");
  check(dir.write("truncated.json", "{\"model\": {"), "invalid JSON");
  // found by the libFuzzer target (tests/fuzz/fuzz_tokenizer.cpp): a number beyond double range escaped as
  // an nlohmann exception naming no file, and one huge id sized the id tables at gigabytes
  check(dir.write("huge_number.json", "{\"version\": 1e400}"), "invalid JSON");
  check(variant("sparse_ids.json", [](json& d) { d["model"]["vocab"]["zz_sparse"] = 2147483647; }),
        "model.vocab: token ids are sparse: the largest id is 2147483647");
  check(variant("pre_type.json",
                [](json& d) {
                  d["pre_tokenizer"]["pretokenizers"][0] = {{"type", "Whitespace"}};
                }),
        "pre_tokenizer.pretokenizers[0].type: 'Whitespace' is unsupported");
  check(variant("merge_triple.json",
                [](json& d) {
                  d["model"]["merges"][3] = json::array({"a", "b", "c"});
                }),
        "model.merges[3]: is not a pair");
  check(variant("merge_string.json", [](json& d) { d["model"]["merges"][5] = "abc"; }),
        "model.merges[5]: is not a pair");
  check(variant("merge_oov.json",
                [](json& d) {
                  d["model"]["merges"][0] = json::array({"a", "zzz"});
                }),
        "model.merges[0]: token \"zzz\" is not in model.vocab");
  check(variant("normalizer.json",
                [](json& d) {
                  d["normalizer"] = {{"type", "NFKC"}};
                }),
        "normalizer.type: 'NFKC' is unsupported");
  check(variant("decoder.json",
                [](json& d) {
                  d["decoder"] = {{"type", "WordPiece"}};
                }),
        "decoder.type: 'WordPiece'");
  check(variant("model.json", [](json& d) { d["model"]["type"] = "Unigram"; }), "model.type: 'Unigram'");
  check(variant("no_vocab.json", [](json& d) { d["model"].erase("vocab"); }), "model.vocab: missing");
  check(variant("behavior.json",
                [](json& d) {
                  d["pre_tokenizer"]["pretokenizers"][0] = {{"type", "Split"},
                                                            {"pattern", {{"Regex", "a"}}},
                                                            {"behavior", "Sideways"},
                                                            {"invert", false}};
                }),
        "behavior: 'Sideways' is unsupported");
  check(variant("lookbehind.json",
                [](json& d) {
                  d["pre_tokenizer"]["pretokenizers"][0] = {{"type", "Split"},
                                                            {"pattern", {{"Regex", "(?<=a)b"}}},
                                                            {"behavior", "Isolated"},
                                                            {"invert", false}};
                }),
        "pattern.Regex: cannot use pattern");
  check(variant("not_byte_level.json",
                [](json& d) {
                  d["pre_tokenizer"] = {{"type", "Digits"}, {"individual_digits", true}};
                }),
        "no ByteLevel step");
  check(variant("added_id.json", [](json& d) { d["added_tokens"][0]["id"] = 5; }), "added_tokens[0].id");
  check(variant("truncation.json",
                [](json& d) {
                  d["truncation"] = {{"max_length", 8}};
                }),
        "truncation: must be null");
}
