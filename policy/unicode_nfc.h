// Unicode NFC exactly as HF `tokenizers` computes it for the "NFC" normalizer (Qwen2 / Qwen2.5 ship it).
//
// HF normalizes with the unicode-normalization-alignments crate, whose tables are Unicode 9.0; ICU (what we
// run) carries a newer Unicode. Normalization stability keeps every character assigned by 9.0 identical
// across versions, so NFC restricted to the 9.0 repertoire is HF's NFC: characters assigned later are, as in
// HF, starters with no decomposition that nothing composes with (ICU's FilteredNormalizer2 over
// [:age=9.0:]). tests/policy/test_tokenizer_real.cpp checks this against HF on every code point.
// Bytes that are not valid UTF-8 pass through unchanged (HF only ever sees valid UTF-8).
#pragma once

#include <string>
#include <string_view>

namespace aha::policy {

// NFC of `utf8`. Fast when the text is already NFC (the usual case): ASCII returns after one scan.
std::string nfc(std::string_view utf8);

}  // namespace aha::policy
