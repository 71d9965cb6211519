// metrics.jsonl, samples.jsonl, the TensorBoard events and curves.svg of one run; see metrics_log.h.
#include "runlog/metrics_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <utility>

#include "runlog/curves.h"
#include "runlog/run_dir.h"

namespace aha::runlog {
namespace fs = std::filesystem;

namespace {

constexpr const char* kMetricsFile = "metrics.jsonl";
constexpr const char* kSamplesFile = "samples.jsonl";
constexpr const char* kCurvesFile = "curves.svg";
constexpr const char* kEventFilePrefix = "events.out.tfevents.";

std::runtime_error errno_error(const fs::path& file, const char* what) {
  return std::runtime_error(file.string() + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

void append_line(const fs::path& file, const nlohmann::json& j) {
  const std::string line = j.dump() + "\n";
  // O_APPEND: the line lands at the end even if another writer appended since; 0666 & umask, as ofstream.
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0) throw errno_error(file, "cannot open to append");
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const auto error = errno_error(file, "append failed");
      ::close(fd);
      throw error;
    }
    written += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) throw errno_error(file, "append failed");
}

void write_json_atomically(const fs::path& file, const nlohmann::json& j) {
  write_file_atomically(file, j.dump(2) + "\n");
}

MetricsLog::MetricsLog(fs::path run_dir, std::string title)
    : run_dir_(std::move(run_dir)), title_(std::move(title)) {}

void MetricsLog::log(const nlohmann::json& row, bool to_jsonl) {
  if (to_jsonl) append_line(run_dir_ / kMetricsFile, row);
  add_to_plots(row);
  write_curves_svg(run_dir_ / kCurvesFile, curve_rows_, title_);
}

void MetricsLog::append_sample(const nlohmann::json& sample) {
  append_line(run_dir_ / kSamplesFile, sample);
}

void MetricsLog::add_to_plots(const nlohmann::json& row) {
  if (!events_) events_ = std::make_unique<EventWriter>(run_dir_);
  events_->add_metrics(row.at("step").get<int64_t>(), row);
  curve_rows_.push_back(row);
}

void MetricsLog::reopen() {
  for (const auto& entry : fs::directory_iterator(run_dir_))
    if (entry.path().filename().string().rfind(kEventFilePrefix, 0) == 0) fs::remove(entry.path());
  events_.reset();
  curve_rows_.clear();
  const fs::path metrics = run_dir_ / kMetricsFile;
  std::ifstream in(metrics);
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    const auto row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_discarded())
      throw std::runtime_error(metrics.string() + ":" + std::to_string(line_no) + ": not valid JSON");
    add_to_plots(row);
  }
  write_curves_svg(run_dir_ / kCurvesFile, curve_rows_, title_);
}

}  // namespace aha::runlog
