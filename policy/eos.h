// The end-of-text token that ends a completion and pads a batch: config.json's eos_token_id when it is
// set, else the tokenizer's "<|endoftext|>" (the GPT-2 / Qwen base convention). One rule for train,
// pretrain, eval and every CLI command.
#pragma once

#include <cstdint>
#include <string>

#include "policy/checkpoint.h"
#include "policy/config.h"
#include "policy/tokenizer.h"

namespace aha::policy {

// `where` names the config in errors. std::runtime_error when neither source gives an id, or when the id
// is not below config.vocab_size.
int64_t resolve_eos_token(const ModelConfig& config, const Tokenizer& tokenizer, const std::string& where);
int64_t resolve_eos_token(const LoadedPolicy& policy);

}  // namespace aha::policy
