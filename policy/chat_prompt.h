// A text as the one user message of a model directory's chat template, with the generation prompt
// (policy/chat_template.h), for `aha generate/tokenize --chat` and held-out eval with the "chat" template
// (eval/evaluate.h).
#pragma once

#include <string>

#include "policy/tokenizer.h"

namespace aha::policy {

// `flag` names the option that asked for it in the error a model without a chat template gets, which
// names the missing file in `model_dir`.
std::string render_chat(const std::string& model_dir, const Tokenizer& tokenizer, const std::string& text,
                        const std::string& flag = "--chat");

}  // namespace aha::policy
