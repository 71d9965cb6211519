// How a demonstration's reasoning and answer are laid out as text: the clean R1-Zero format and the
// broken variants used as format noise. Header-only on purpose: the rewards tests include it (without
// linking aha_datasets) to prove every broken variant scores 0 on the format rule and the clean one 1.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace aha::datasets {

enum class DemoFormat {
  Clean,               // <think>R</think> <answer>A</answer>
  MisspeltThinkClose,  // <think>R</thnk> <answer>A</answer>
  BareAnswer,          // <think>R</think> A
  AnswerFirst,         // <answer>A</answer> <think>R</think>
  MissingThinkClose,   // <think>R <answer>A</answer>
};

inline constexpr std::array<DemoFormat, 4> kBrokenDemoFormats = {
    DemoFormat::MisspeltThinkClose, DemoFormat::BareAnswer, DemoFormat::AnswerFirst,
    DemoFormat::MissingThinkClose};

inline std::string_view demo_format_name(DemoFormat format) {
  switch (format) {
    case DemoFormat::Clean:
      return "clean";
    case DemoFormat::MisspeltThinkClose:
      return "misspelt_think_close";
    case DemoFormat::BareAnswer:
      return "bare_answer";
    case DemoFormat::AnswerFirst:
      return "answer_first";
    case DemoFormat::MissingThinkClose:
      return "missing_think_close";
  }
  return "unknown";
}

inline std::string render_demonstration(std::string_view reasoning, std::string_view answer,
                                        DemoFormat format) {
  const std::string r(reasoning), a(answer);
  switch (format) {
    case DemoFormat::Clean:
      return "<think>" + r + "</think> <answer>" + a + "</answer>";
    case DemoFormat::MisspeltThinkClose:
      return "<think>" + r + "</thnk> <answer>" + a + "</answer>";
    case DemoFormat::BareAnswer:
      return "<think>" + r + "</think> " + a;
    case DemoFormat::AnswerFirst:
      return "<answer>" + a + "</answer> <think>" + r + "</think>";
    case DemoFormat::MissingThinkClose:
      return "<think>" + r + " <answer>" + a + "</answer>";
  }
  return {};
}

}  // namespace aha::datasets
