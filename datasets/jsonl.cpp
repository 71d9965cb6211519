// JSON Lines reading; see jsonl.h.
#include "datasets/jsonl.h"

#include <stdexcept>

namespace aha::datasets {

void for_each_jsonl(std::istream& in, const std::string& file,
                    const std::function<void(const nlohmann::json& row, int64_t line_no, const std::string& where)>& visit) {
  std::string text;
  for (int64_t line_no = 1; std::getline(in, text); ++line_no) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = file + ":" + std::to_string(line_no);
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
      throw std::invalid_argument(where + ": invalid JSON: " + e.what());
    }
    visit(row, line_no, where);
  }
}

}  // namespace aha::datasets
