// Checkpoint pointers, pruning and log truncation; see run_dir.h.
#include "runlog/run_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

namespace aha::runlog {
namespace fs = std::filesystem;

namespace {

constexpr const char* kStepPrefix = "step-";

void fsync_path(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) throw std::runtime_error(p.string() + ": cannot open to fsync: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int fsync_errno = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error(p.string() + ": fsync failed: " + std::strerror(fsync_errno));
}

// step-N with N a non-negative decimal; nullopt for any other name.
std::optional<int64_t> parse_step_name(const std::string& name) {
  if (name.rfind(kStepPrefix, 0) != 0) return std::nullopt;
  const std::string digits = name.substr(std::string(kStepPrefix).size());
  if (digits.empty() || digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), ::isdigit))
    return std::nullopt;
  return std::stoll(digits);
}

}  // namespace

fs::path checkpoints_dir(const fs::path& run_dir) { return run_dir / "checkpoints"; }

fs::path checkpoint_path(const fs::path& run_dir, int64_t step) {
  return checkpoints_dir(run_dir) / (kStepPrefix + std::to_string(step));
}

int64_t checkpoint_step(const fs::path& checkpoint_dir) {
  auto step = parse_step_name(checkpoint_dir.filename().string());
  if (!step) throw std::invalid_argument(checkpoint_dir.string() + ": not a checkpoint directory (expected step-N)");
  return *step;
}

void write_file_atomically(const fs::path& file, const std::string& bytes) {
  fs::path tmp = file;
  tmp += ".tmp";
  {
    errno = 0;
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(tmp.string() + ": cannot create: " + std::strerror(errno));
    out << bytes;
    out.flush();
    if (!out) {
      const int write_errno = errno;
      fs::remove(tmp);
      throw std::runtime_error(tmp.string() + ": write failed: " + std::strerror(write_errno));
    }
  }
  fsync_path(tmp);
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) throw std::runtime_error(file.string() + ": cannot rename " + tmp.string() + " onto it: " + ec.message());
  fsync_path(file.parent_path().empty() ? fs::path(".") : file.parent_path());
}

std::optional<fs::path> latest_checkpoint(const fs::path& run_dir) {
  const fs::path pointer = checkpoints_dir(run_dir) / "latest";
  if (!fs::exists(pointer)) return std::nullopt;
  std::ifstream in(pointer);
  std::string name;
  std::getline(in, name);
  if (!parse_step_name(name))
    throw std::runtime_error(pointer.string() + ": expected one line \"step-N\", got \"" + name + "\"");
  const fs::path dir = checkpoints_dir(run_dir) / name;
  if (!fs::is_directory(dir)) throw std::runtime_error(pointer.string() + ": names " + dir.string() + ", which is missing");
  return dir;
}

void set_latest_checkpoint(const fs::path& run_dir, int64_t step) {
  write_file_atomically(checkpoints_dir(run_dir) / "latest", kStepPrefix + std::to_string(step) + "\n");
}

void prune_checkpoints(const fs::path& run_dir, int64_t keep, bool remove_newer_than_latest) {
  const fs::path dir = checkpoints_dir(run_dir);
  if (!fs::is_directory(dir)) return;
  const auto latest = latest_checkpoint(run_dir);
  const int64_t latest_step = latest ? checkpoint_step(*latest) : -1;
  std::vector<int64_t> steps;
  std::vector<fs::path> leftovers;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (auto step = parse_step_name(name)) {
      if (remove_newer_than_latest && *step > latest_step) leftovers.push_back(entry.path());
      else steps.push_back(*step);
    } else if (name.find(".tmp-") != std::string::npos || name.find(".old-") != std::string::npos ||
               name == "latest.tmp") {
      leftovers.push_back(entry.path());
    }
  }
  std::sort(steps.rbegin(), steps.rend());
  for (size_t i = static_cast<size_t>(std::max<int64_t>(keep, 0)); i < steps.size(); ++i)
    if (steps[i] != latest_step) leftovers.push_back(checkpoint_path(run_dir, steps[i]));
  for (const auto& p : leftovers) fs::remove_all(p);
}

void truncate_jsonl_to_step(const fs::path& file, int64_t max_step) {
  if (!fs::exists(file)) return;
  std::ifstream in(file);
  std::ostringstream kept;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      // A line cut short by a kill mid-append is the last line; anything earlier is corruption.
      if (in.peek() == EOF) break;
      throw std::runtime_error(file.string() + ":" + std::to_string(line_no) + ": not valid JSON");
    }
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer())
      throw std::runtime_error(file.string() + ":" + std::to_string(line_no) + ": expected an object with an integer \"step\"");
    if (j["step"].get<int64_t>() <= max_step) kept << line << "\n";
  }
  write_file_atomically(file, kept.str());
}

}  // namespace aha::runlog
