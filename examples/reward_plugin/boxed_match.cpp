// An example aha reward plugin (C ABI aha_reward_v1, see rewards/custom/aha_reward_v1.h), written in C++:
// 1 when the content of the completion's last \boxed{...} equals the ground truth (both trimmed),
// `partial_credit` when there is a boxed answer but it differs, 0 when there is none.
//   config: {"partial_credit": 0.1}   (optional, default 0)
// Use it from a run config:
//   {"name": "plugin", "options": {"path": "build/examples/reward_plugin/boxed_match_reward.so",
//                                  "config": {"partial_credit": 0.1}}}
// Build it alone with: cmake -S examples/reward_plugin -B /tmp/plugin && cmake --build /tmp/plugin
// Nothing may throw across the C ABI, so init catches; score_batch allocates nothing that can throw.
#include <cstdio>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <string_view>

#include "rewards/custom/aha_reward_v1.h"

namespace {

struct BoxedMatch {
  float partial_credit = 0;
};

std::string_view trim(std::string_view text) {
  const char* space = " \t\n\r\f\v";
  const size_t first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

// The content of the last \boxed{...}, braces balanced; false when there is none or it never closes.
bool last_boxed(std::string_view text, std::string_view& content) {
  const size_t start = text.rfind("\\boxed{");
  if (start == std::string_view::npos) return false;
  const size_t open = start + std::strlen("\\boxed{");
  int depth = 1;
  for (size_t i = open; i < text.size(); ++i) {
    if (text[i] == '{') ++depth;
    if (text[i] == '}' && --depth == 0) {
      content = text.substr(open, i - open);
      return true;
    }
  }
  return false;
}

int init(const char* config_json, void** handle, char* error, size_t error_size) {
  try {
    const nlohmann::json config = nlohmann::json::parse(config_json);
    auto* state = new BoxedMatch;
    for (const auto& [key, value] : config.items()) {
      if (key != "partial_credit" || !value.is_number()) {
        delete state;
        std::snprintf(error, error_size, "config key '%s': only \"partial_credit\": <number> is allowed",
                      key.c_str());
        return 1;
      }
      state->partial_credit = value.get<float>();
    }
    *handle = state;
    return 0;
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "bad config: %s", e.what());
    return 1;
  }
}

int score_batch(void* handle, size_t n, const aha_reward_input_v1* inputs, float* scores) {
  const auto* state = static_cast<const BoxedMatch*>(handle);
  for (size_t i = 0; i < n; ++i) {
    std::string_view boxed;
    if (!last_boxed({inputs[i].completion, inputs[i].completion_size}, boxed)) {
      scores[i] = 0;
      continue;
    }
    const bool equal = trim(boxed) == trim({inputs[i].answer, inputs[i].answer_size});
    scores[i] = equal ? 1.0f : state->partial_credit;
  }
  return 0;
}

void destroy(void* handle) {
  delete static_cast<BoxedMatch*>(handle);
}

const aha_reward_plugin_v1 kPlugin = {
    AHA_REWARD_ABI_VERSION, sizeof(aha_reward_plugin_v1), "boxed_match", init, score_batch, destroy,
};

}  // namespace

extern "C" AHA_REWARD_EXPORT const aha_reward_plugin_v1* aha_reward_v1(void) {
  return &kPlugin;
}
