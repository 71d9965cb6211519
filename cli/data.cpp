// `aha data export` (see data.h): a task's problems as JSONL, written atomically.
#include "cli/data.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "datasets/countdown.h"
#include "datasets/task.h"

namespace aha::cli {
namespace {

namespace fs = std::filesystem;

struct ExportArgs {
  std::string task;
  std::string options = "{}";
  std::string split;
  int64_t count = 0;
  uint64_t seed = 1;
  std::string out;
  std::string layout;  // "" -> the task's default
  bool force = false;
};

std::string system_error(const std::string& what, int error) {
  return what + ": " + std::strerror(error);
}

// One JSON line per problem in the chosen layout.
std::string render_jsonl(const std::vector<datasets::Problem>& problems, const std::string& layout) {
  std::string text;
  for (const datasets::Problem& p : problems) {
    nlohmann::ordered_json row;
    if (layout == "rows") {
      const datasets::CountdownPuzzle puzzle = datasets::countdown_puzzle(p);
      row["target"] = puzzle.target;
      row["nums"] = puzzle.numbers;
    } else {
      row["id"] = p.id;
      row["question"] = p.question;
      row["answer"] = p.answer;
    }
    text += row.dump() + "\n";
  }
  return text;
}

// Writes `bytes` to a new file beside `out`, fsyncs it, then links it to `out` (fails if `out` exists:
// nothing of the user's is replaced) or, with `force`, renames it over `out`. The temporary file is
// removed on every failure.
void write_file_atomically(const fs::path& out, const std::string& bytes, bool force) {
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(out, ec);
  if (fs::exists(status)) {
    if (!force) throw std::runtime_error("--out " + out.string() + ": exists; pass --force to replace it");
    if (!fs::is_regular_file(status))
      throw std::runtime_error("--out " + out.string() + ": exists and is not a regular file; not replacing it");
  }
  const fs::path tmp = out.string() + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(system_error(tmp.string() + ": cannot create", errno));
  auto fail = [&](const std::string& what, int error) {
    ::unlink(tmp.c_str());
    return std::runtime_error(system_error(what, error));
  };
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      throw fail(tmp.string() + ": write failed", error);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    throw fail(tmp.string() + ": fsync failed", error);
  }
  if (::close(fd) != 0) throw fail(tmp.string() + ": close failed", errno);
  if (force) {
    if (::rename(tmp.c_str(), out.c_str()) != 0) throw fail("--out " + out.string() + ": cannot rename " + tmp.string() + " onto it", errno);
  } else {
    if (::link(tmp.c_str(), out.c_str()) != 0) {
      const int error = errno;
      if (error == EEXIST) throw fail("--out " + out.string() + ": exists; pass --force to replace it", error);
      throw fail("--out " + out.string() + ": cannot create", error);
    }
    ::unlink(tmp.c_str());
  }
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {  // best effort: the file itself is already durable
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void run_export(const ExportArgs& args) {
  const nlohmann::json options = nlohmann::json::parse(args.options, nullptr, /*allow_exceptions=*/false);
  if (options.is_discarded())
    throw std::invalid_argument("--options: not valid JSON: " + args.options +
                                " (expected an object, e.g. '{\"max_number\": 20}')");
  const std::unique_ptr<datasets::Task> task = datasets::make_task(args.task, options);
  const datasets::Split split = datasets::parse_split(args.split);
  const std::string layout = !args.layout.empty() ? args.layout : task->name() == "countdown" ? "rows" : "problems";
  if (layout != "rows" && layout != "problems")
    throw std::invalid_argument("--layout: expected rows or problems, got '" + layout + "'");
  if (layout == "rows" && task->name() != "countdown")
    throw std::invalid_argument("--layout rows: TinyZero's {\"target\", \"nums\"} rows exist only for --task "
                                "countdown; use --layout problems for " + task->name());
  if (args.out.empty()) throw std::invalid_argument("--out: required (the JSONL file to write)");

  const auto problems = task->problems(split, static_cast<size_t>(args.count), args.seed);
  write_file_atomically(args.out, render_jsonl(problems, layout), args.force);
  std::cerr << "aha data: wrote " << problems.size() << " " << task->name() << " " << args.split
            << " problems (seed " << args.seed << ", layout " << layout << ") to " << args.out << std::endl;
}

}  // namespace

void add_data_command(CLI::App& app) {
  auto* data = app.add_subcommand("data", "data files from the synthetic tasks");
  data->require_subcommand(1);
  auto args = std::make_shared<ExportArgs>();
  auto* exp = data->add_subcommand("export", "write a task's problems as JSONL (TinyZero rows for countdown)");
  exp->add_option("--task", args->task, "countdown or arith")->required();
  exp->add_option("--options", args->options, "task options as a JSON object (keys: the task's config fields)");
  exp->add_option("--split", args->split, "train or test")->required();
  exp->add_option("--count", args->count, "number of problems")->required()->check(CLI::PositiveNumber);
  exp->add_option("--seed", args->seed, "problem seed (a run's data.seed for train, data.eval_seed for test)")
      ->check(CLI::NonNegativeNumber);
  exp->add_option("--out", args->out, "JSONL file to write (must not exist unless --force)")->required();
  exp->add_option("--layout", args->layout, "rows ({\"target\", \"nums\"}; countdown) or problems ({\"id\", \"question\", \"answer\"})");
  exp->add_flag("--force", args->force, "replace --out if it exists");
  exp->callback([args] {
    try {
      run_export(*args);
    } catch (const std::exception& e) {
      throw CLI::RuntimeError(e.what(), 1);
    }
    throw CLI::Success();  // done: main has no dispatch for `data`, and Success exits 0 silently
  });
}

}  // namespace aha::cli
