// Prompt template presets and rendering (see template.h).
#include "datasets/template.h"

#include <stdexcept>
#include <utility>

namespace aha::datasets {
namespace {

constexpr std::string_view kPlaceholder = "{question}";

const std::vector<std::pair<std::string, std::string>>& presets() {
  static const std::vector<std::pair<std::string, std::string>> table = {
      {"r1zero",
       "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
       "The assistant first thinks about the reasoning process in the mind and then provides the user with "
       "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
       "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
       "</answer>. User: {question}\nAssistant:"},
      // Ends at "Assistant:" like r1zero: a trailing space would become a lone " " token that byte-level
      // BPE never produces inside text (it attaches spaces to the next word), so the model would see an
      // input it was never trained on. The completion starts with " <think>".
      {"compact", "User: {question}\nAssistant:"},
  };
  return table;
}

}  // namespace

std::vector<std::string> template_presets() {
  std::vector<std::string> names;
  for (const auto& [name, text] : presets()) names.push_back(name);
  return names;
}

std::string resolve_template(const std::string& name_or_text) {
  for (const auto& [name, text] : presets())
    if (name == name_or_text) return text;
  if (name_or_text.find(kPlaceholder) != std::string::npos) return name_or_text;
  std::string names;
  for (const std::string& n : template_presets()) names += (names.empty() ? "" : ", ") + n;
  throw std::invalid_argument("prompt template '" + name_or_text + "' is neither a preset (" + names +
                              ") nor a text containing {question}");
}

std::string render_prompt(const std::string& template_text, const Problem& p) {
  if (template_text.find(kPlaceholder) == std::string::npos)
    throw std::invalid_argument("prompt template has no {question} placeholder: '" + template_text + "'");
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = template_text.find(kPlaceholder, pos)) != std::string::npos;
       pos = hit + kPlaceholder.size())
    out.append(template_text, pos, hit - pos).append(p.question);
  out.append(template_text, pos);
  return out;
}

}  // namespace aha::datasets
