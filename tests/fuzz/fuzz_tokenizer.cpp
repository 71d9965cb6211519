// libFuzzer target: the input is the text of a tokenizer.json. Loading must either throw
// std::runtime_error (anything else escaping aborts the run) or give a tokenizer that encodes and decodes
// a fixed string, with added tokens, digits, spaces, non-ASCII text and an invalid UTF-8 byte, without
// throwing. One throw is tolerated because tokenizer.cpp makes it on purpose: a vocab that lacks a byte
// token (and has no unk_token) is reported by encode() when that byte first appears, not at load.
// One escape is a known bug of tokenizer.cpp, tolerated so the run goes on past it: a number too large for
// a double (1e400) makes nlohmann throw out_of_range 406, which load_from_string does not turn into a
// runtime_error naming the file (it catches parse_error only). Drop that catch once the loader handles it.
// A second known bug is skipped rather than run: ids are accepted up to INT32_MAX and the id tables are
// sized by the largest id, so one vocab entry with id 2^31-1 makes load allocate tens of GB. Inputs whose
// ids exceed kMaxId are skipped until the loader bounds ids itself.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "policy/tokenizer.h"

namespace {

constexpr int64_t kMaxId = 1 << 20;  // 8x the largest real vocab (Qwen2's 151,646)

bool has_huge_id(std::string_view text) {
  const nlohmann::json root = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  const auto huge = [](const nlohmann::json& id) { return id.is_number() && id.get<double>() > kMaxId; };
  if (!root.is_object()) return false;
  if (const auto model = root.find("model"); model != root.end() && model->is_object()) {
    if (const auto vocab = model->find("vocab"); vocab != model->end() && vocab->is_object()) {
      for (const auto& [token, id] : vocab->items()) {
        if (huge(id)) return true;
      }
    }
  }
  if (const auto added = root.find("added_tokens"); added != root.end() && added->is_array()) {
    for (const nlohmann::json& token : *added) {
      if (token.is_object() && token.contains("id") && huge(token["id"])) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (has_huge_id(text)) return 0;
  std::optional<aha::policy::Tokenizer> tokenizer;
  try {
    tokenizer.emplace(aha::policy::Tokenizer::load_from_string(text, "fuzz.tokenizer.json"));
  } catch (const std::runtime_error&) {
    return 0;
  } catch (const nlohmann::json::out_of_range& e) {
    if (e.id != 406) throw;
    return 0;
  }
  const std::string_view probe =
      "User: 37 + 48 = 85?\n<think> naïve café  数学 🙂</think> <|endoftext|> \xff don't\t  ";
  std::vector<int64_t> ids;
  try {
    ids = tokenizer->encode(probe);
  } catch (const std::runtime_error& e) {
    if (std::string_view(e.what()).find("a byte-level vocab needs all 256 byte tokens") ==
        std::string_view::npos) {
      throw;
    }
    return 0;
  }
  (void)tokenizer->decode(ids);
  (void)tokenizer->decode(ids, /*skip_special=*/true);
  (void)tokenizer->token_to_id("<|endoftext|>");
  (void)tokenizer->vocab_size();
  return 0;
}
