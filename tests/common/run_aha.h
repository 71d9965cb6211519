// Runs the real `aha` executable (AHA_BINARY) for tests that drive it end to end: as a child process with
// stdout and stderr appended to a log file and AHA_FAULT set or cleared for the child only (spawn_aha,
// run_aha), or as a shell command in a working directory with stdout and stderr captured
// (run_aha_command). Plus what such tests compare: a file's bytes, every file under a directory.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace aha::testing {

// Starts `aha <args...>`; returns the child's pid.
inline pid_t spawn_aha(const std::vector<std::string>& args, const std::string& fault,
                       const std::filesystem::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (fault.empty())
      ::unsetenv("AHA_FAULT");
    else
      ::setenv("AHA_FAULT", fault.c_str(), 1);
    std::FILE* out = std::fopen(log.c_str(), "a");
    ::dup2(::fileno(out), 1);
    ::dup2(::fileno(out), 2);
    std::vector<char*> argv{const_cast<char*>(AHA_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(AHA_BINARY, argv.data());
    std::_Exit(127);
  }
  return pid;
}

// The exit code, or 128 + signal when a signal ended the child.
inline int wait_for_aha(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

inline int run_aha(const std::vector<std::string>& args, const std::filesystem::path& log,
                   const std::string& fault = "") {
  return wait_for_aha(spawn_aha(args, fault, log));
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct AhaOutcome {
  int code;
  std::string err;
  std::string out;
};

// `aha <args>` through the shell in `cwd`; stdout and stderr go to files in `logs` (default: cwd).
inline AhaOutcome run_aha_command(const std::string& args, const std::filesystem::path& cwd,
                                  const std::filesystem::path& logs = {}) {
  const std::filesystem::path dir = logs.empty() ? cwd : logs;
  const auto err_file = dir / "stderr.txt", out_file = dir / "stdout.txt";
  const std::string cmd = "cd '" + cwd.string() + "' && '" + AHA_BINARY + "' " + args + " > '" +
                          out_file.string() + "' 2> '" + err_file.string() + "'";
  const int status = std::system(cmd.c_str());
  return {WEXITSTATUS(status), read_text(err_file), read_text(out_file)};
}

inline int count_lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

// Every regular file under `dir` (relative path -> bytes), but those named in `ignore`: equal before and
// after means nothing there was deleted or changed.
inline std::map<std::string, std::string> snapshot(const std::filesystem::path& dir,
                                                   const std::set<std::string>& ignore = {}) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && !ignore.count(e.path().filename().string()))
      files[std::filesystem::relative(e.path(), dir).string()] = read_text(e.path());
  return files;
}

}  // namespace aha::testing
