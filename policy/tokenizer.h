// Byte-level BPE tokenizer loaded from a HuggingFace tokenizer.json (GPT-2 / Qwen2 / Llama-3 /
// DeepSeek-V3 family), bit-exact with HF `tokenizers` on what it supports:
//   added_tokens   matched first, leftmost-longest (non-normalized ones before normalized ones, as HF
//                  does); lstrip / rstrip / single_word honoured; special ones drop out of decode on request
//   normalizer     null, NFC (Qwen2 / Qwen2.5; HF's Unicode 9.0 tables, see unicode_nfc.h), or a Sequence of
//                  those (DeepSeek-V3 ships an empty one); normalized added tokens match the normalized text
//   pre_tokenizer  Sequence of Split (Regex or String; Isolated, Removed, MergedWithPrevious,
//                  MergedWithNext, Contiguous; invert), ByteLevel (add_prefix_space, use_regex) and Digits
//   model          BPE, merges as "a b" strings or ["a","b"] pairs, ignore_merges
//   decoder        ByteLevel (or a Sequence of them)
//   post_processor null / ByteLevel / TemplateProcessing / Sequence of those: ignored, because encode()
//                  never adds BOS/EOS or anything else; callers add special tokens explicitly.
// Anything else is a load error naming the file, the field and what is supported.
//
// Deliberate differences from HF: regexes run on RE2, translated from Oniguruma syntax (Unicode `\s`,
// `\d`, `\w`; the one lookahead real tokenizers use, `\s+(?!\S)`, is emulated); ids that are in no
// vocabulary are dropped by decode() (as HF does) so that sampled padding rows of an embedding never
// throw mid-rollout. No torch include here: the tokenizer is plain C++.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aha::policy {

// The whole file, inflated when it is gzip-compressed (zlib reads any other file as it is). Throws
// std::runtime_error "<path>: cannot open <what>" / "cannot read <what> (gzip: ...)".
std::string read_file_maybe_gzip(const std::filesystem::path& path, const std::string& what = "file");

class Tokenizer {
 public:
  // Reads tokenizer.json, plain or gzip-compressed (tokenizer.json.gz: real tokenizers are 7 MB as text).
  // Throws std::runtime_error naming the file and the offending field (missing file, invalid JSON,
  // unsupported component, malformed vocab/merges).
  static Tokenizer load(const std::filesystem::path& tokenizer_json);

  // The same from the text of a tokenizer.json; `name_for_errors` stands in for the file name in messages.
  static Tokenizer load_from_string(std::string_view json_text, const std::string& name_for_errors);

  // Token ids of `text`; adds no BOS/EOS. Added/special tokens written in the text are matched first.
  // Thread-safe (the per-word BPE cache is behind a mutex).
  std::vector<int64_t> encode(std::string_view text) const;

  // Text of `ids`. Bytes that do not form valid UTF-8 (a multi-byte character cut between tokens) become
  // U+FFFD, exactly as HF's decode does. Unknown ids are skipped.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = false) const;

  // Decoded text of one token (decode({id})); throws std::out_of_range for an id in no vocabulary.
  std::string token_text(int64_t id) const;

  // Raw vocabulary lookup (added tokens first, then the BPE vocab), e.g. "<|endoftext|>" or "Ġthe".
  std::optional<int64_t> token_to_id(std::string_view token) const;

  // Max id + 1 over the BPE vocab and the added tokens.
  int64_t vocab_size() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace aha::policy
