// JSON Lines reading; see jsonl.h.
#include "datasets/jsonl.h"

#include <zlib.h>

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

std::string read_text_maybe_gzip(const std::filesystem::path& file) {
  std::error_code ignored;
  gzFile in = std::filesystem::is_regular_file(file, ignored) ? gzopen(file.c_str(), "rb") : nullptr;
  if (!in) throw std::runtime_error(file.string() + ": cannot open (expected a data file)");
  std::string text, chunk(1 << 16, '\0');
  int got = 0;
  while ((got = gzread(in, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0) text.append(chunk, 0, got);
  int error = 0;
  const std::string message = got < 0 ? gzerror(in, &error) : "";
  gzclose(in);
  if (got < 0) throw std::runtime_error(file.string() + ": cannot read (gzip: " + message + ")");
  return text;
}

}  // namespace aha::datasets
