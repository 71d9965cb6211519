// Prompt templates: the text around a problem's question, with "{question}" marking where it goes.
// Presets by name: "r1zero" (DeepSeek-R1-Zero's template, the R1 paper's Table 1; it differs only in
// putting "Assistant:" on a new line after the question) and "compact" (short, for small demo models).
#pragma once

#include <string>
#include <vector>

#include "datasets/task.h"

namespace aha::datasets {

// A preset name gives its text; any other string containing "{question}" is the template itself;
// anything else is std::invalid_argument listing the presets.
std::string resolve_template(const std::string& name_or_text);
std::vector<std::string> template_presets();

// Replaces every "{question}" in template_text with p.question (the question text is not re-scanned, so a
// question that itself contains "{question}" is inserted verbatim). A template without "{question}" is
// std::invalid_argument: it would silently train on prompts that never show the problem.
std::string render_prompt(const std::string& template_text, const Problem& p);

}  // namespace aha::datasets
