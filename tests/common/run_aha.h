// Runs the real `aha` executable (AHA_BINARY) as a child process, for tests that drive it end to end:
// stdout and stderr appended to a log file, AHA_FAULT set or cleared for the child only.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace aha::testing {

// Starts `aha <args...>`; returns the child's pid.
inline pid_t spawn_aha(const std::vector<std::string>& args, const std::string& fault,
                       const std::filesystem::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (fault.empty()) ::unsetenv("AHA_FAULT");
    else ::setenv("AHA_FAULT", fault.c_str(), 1);
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

}  // namespace aha::testing
