// libFuzzer target: the input is the text of a tokenizer.json. Loading must either throw
// std::runtime_error (anything else escaping aborts the run) or give a tokenizer that encodes and decodes
// a fixed string, with added tokens, digits, spaces, non-ASCII text and an invalid UTF-8 byte, without
// throwing. One throw is tolerated because tokenizer.cpp makes it on purpose: a vocab that lacks a byte
// token (and has no unk_token) is reported by encode() when that byte first appears, not at load.
// Two bugs this target found are fixed in the loader and covered by test_tokenizer.cpp: a number too
// large for a double (1e400) escaped as an nlohmann exception naming no file, and one vocab id of 2^31-1
// sized the id tables at tens of GB (sparse ids are now refused at load).
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "policy/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<aha::policy::Tokenizer> tokenizer;
  try {
    tokenizer.emplace(aha::policy::Tokenizer::load_from_string(text, "fuzz.tokenizer.json"));
  } catch (const std::runtime_error&) {
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
