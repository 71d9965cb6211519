// The hostile suite for the code reward (issue 4, item 3). Each program in tests/fixtures/hostile attacks
// the sandbox or the harness; each must score 0 with the outcome it deserves, end within its time bound,
// change nothing outside the sandbox (files, sockets, processes) and leave this process, the sandbox's
// parent, unharmed. Each run first judges a correct HumanEval-style and a correct stdin/stdout program
// with the same options and requires both to pass, so a sandbox that fails everything cannot pass the
// suite. It runs twice: with every layer this host allows, and at the floor a container
// without user namespaces or Landlock gets (session, rlimits, clean env, uid drop, seccomp). A third case
// takes seccomp away too and shows a fork bomb still capped and killed. Each run prints its time.
// Without seccomp the killed bomb's children are orphans that PID 1 must reap; with it (the default) no
// process can fork, so there are none.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "rewards/code/code_reward.h"
#include "tests/common/temp_dir.h"

using namespace aha::rewards;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const fs::path kHostile = fs::path(AHA_SOURCE_DIR) / "tests/fixtures/hostile";
constexpr const char* kPrompt =
    "def add(a: int, b: int) -> int:\n    \"\"\"Return the sum of a and b.\"\"\"\n";
constexpr const char* kTest =
    "def check(candidate):\n"
    "    assert candidate(2, 3) == 5\n"
    "    assert candidate(-1, 1) == 0\n"
    "    assert candidate(10**20, 1) == 10**20 + 1\n";
// A uid no other test uses, so "no process of this uid is left" is exact even under ctest -j.
constexpr uint32_t kHostileUid = 1999999001;
constexpr double kWallSeconds = 1.5;

std::string humaneval_answer() {
  return json{{"prompt", kPrompt}, {"test", kTest}, {"entry_point", "add"}}.dump();
}
std::string stdio_answer(const std::string& input, const std::string& output) {
  return json{{"tests", json::array({json{{"input", input}, {"output", output}}})}}.dump();
}

std::string fixture(const std::string& name, const std::map<std::string, std::string>& values = {}) {
  std::ifstream in(kHostile / name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  for (const auto& [key, value] : values)
    for (size_t pos = s.find(key); pos != std::string::npos; pos = s.find(key, pos + value.size()))
      s.replace(pos, key.size(), value);
  return s;
}

// Processes whose real uid is `uid` (the sandbox's), and children of this process: none may outlive a
// run. (Read from status, not the /proc entry's owner: a non-dumpable process's entry belongs to root.)
int processes_of_uid(uid_t uid) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream status(entry.path() / "status");
    for (std::string line; std::getline(status, line);)
      if (line.starts_with("Uid:")) {
        std::istringstream fields(line.substr(4));
        long real = -1;
        fields >> real;
        if (real == static_cast<long>(uid)) ++n;
        break;
      }
  }
  return n;
}
int children_of_this_process() {
  int n = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == ::getpid()) ++n;
  }
  return n;
}

volatile sig_atomic_t g_sigterms = 0;
void count_sigterm(int) {
  g_sigterms = 1;
}

// A TCP listener on 127.0.0.1, a UDP socket on the same port and a unix listener: what the socket
// program reaches for. Nothing may arrive at any of them.
struct Listeners {
  int tcp = -1, udp = -1, unix_socket = -1;
  int port = 0;
  std::string unix_path;
  explicit Listeners(const fs::path& dir) {
    tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(tcp, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(tcp, 8) == 0);
    socklen_t size = sizeof address;
    ::getsockname(tcp, reinterpret_cast<sockaddr*>(&address), &size);
    port = ntohs(address.sin_port);
    udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ::bind(udp, reinterpret_cast<sockaddr*>(&address), sizeof address);
    unix_path = (dir / "listener.sock").string();
    unix_socket = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_un unix_address{};
    unix_address.sun_family = AF_UNIX;
    std::snprintf(unix_address.sun_path, sizeof unix_address.sun_path, "%s", unix_path.c_str());
    REQUIRE(::bind(unix_socket, reinterpret_cast<sockaddr*>(&unix_address), sizeof unix_address) == 0);
    REQUIRE(::listen(unix_socket, 8) == 0);
    ::chmod(unix_path.c_str(), 0777);  // only the sandbox, not permissions, may keep the child out
  }
  ~Listeners() {
    ::close(tcp);
    ::close(udp);
    ::close(unix_socket);
  }
  bool anything_arrived() const {
    char byte;
    return ::accept(tcp, nullptr, nullptr) >= 0 || ::accept(unix_socket, nullptr, nullptr) >= 0 ||
           ::recv(udp, &byte, 1, 0) >= 0;
  }
};

struct Case {
  const char* file;
  const char* attack;
  std::set<CodeOutcome> outcomes;  // what it deserves
};

// Each test case gets its own uid (kHostileUid + case_index) so that its "no process of the sandbox uid is
// left" check is not confused by another case ctest runs at the same time.
CodeOptions hostile_options(const fs::path& work_root, uint32_t case_index) {
  CodeOptions o;
  o.workers = 1;
  o.sandbox.wall_seconds = kWallSeconds;
  o.sandbox.cpu_seconds = 1;
  o.sandbox.address_space_bytes = int64_t{512} << 20;
  o.sandbox.output_bytes = 64 << 10;
  o.sandbox.processes = 16;
  o.sandbox.work_root = work_root.string();
  if (::geteuid() == 0) o.sandbox.uid = o.sandbox.gid = kHostileUid + case_index;
  return o;
}

void run_suite(const std::string& mode, CodeOptions options) {
  aha::testing::TempDir scratch("hostile");
  const fs::path work_root = fs::path(options.sandbox.work_root);
  const bool root = ::geteuid() == 0;
  const CodeRule rule(options);
  const uint32_t layers = rule.sandbox().layers();
  std::printf("hostile suite, %s layers: %s\n", mode.c_str(), describe_layers(layers).c_str());
  const bool filesystem_confined = (layers & (kLayerLandlockFs | kLayerMountNs)) != 0;

  // Positive controls with the same rule and options: a sandbox that fails every program (a layer that
  // breaks Python's start-up, a judge that never reports PASS) would otherwise pass everything below.
  {  // scoped, so that the controls' messages stay off the failures below
    const CodeVerdict function_control =
        rule.judge(RewardInput{"", "def add(a, b):\n    return a + b\n", humaneval_answer()});
    INFO(mode << ": the correct HumanEval-style program: " << outcome_name(function_control.outcome) << " "
              << function_control.reason);
    REQUIRE(function_control.outcome == CodeOutcome::passed);
    REQUIRE(function_control.score == 1);
  }
  {
    const CodeVerdict stdio_control =
        rule.judge(RewardInput{"", "a, b = map(int, input().split())\nprint(a + b)\nprint(a * b)\n",
                               stdio_answer("2 3\n", "5\n6\n")});
    INFO(mode << ": the correct stdin/stdout program: " << outcome_name(stdio_control.outcome) << " "
              << stdio_control.reason);
    REQUIRE(stdio_control.outcome == CodeOutcome::passed);
    REQUIRE(stdio_control.score == 1);
  }
  constexpr uint64_t kControls = 2;

  // Where the write_outside program tries to write. A world-writable directory and /tmp only where the
  // filesystem is confined: at the floor the child writes as nobody, and nobody may write there.
  const fs::path open_dir = scratch / "world-writable", closed_dir = scratch / "root-only";
  fs::create_directories(open_dir);
  fs::create_directories(closed_dir);
  fs::permissions(open_dir, fs::perms::all);
  std::vector<fs::path> targets = {closed_dir / "escaped.txt",
                                   fs::path(AHA_SOURCE_DIR) / "aha-hostile-escape.txt",
                                   work_root / "aha-hostile-escape.txt"};
  if (filesystem_confined) {
    targets.push_back(open_dir / "escaped.txt");
    targets.push_back(fs::temp_directory_path() / ("aha-hostile-" + std::to_string(::getpid()) + ".txt"));
  }
  std::string target_list = "[";
  for (const fs::path& t : targets) target_list += json(t.string()).dump() + ", ";
  target_list += "'../aha-hostile-escape.txt']";

  const Listeners listeners(scratch.path);
  const std::string secret = "aha-secret-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand());
  ::setenv("AHA_HOSTILE_SECRET", secret.c_str(), 1);
  const char* path_env = std::getenv("PATH");
  struct sigaction count {
  }, previous{};
  count.sa_handler = count_sigterm;
  ::sigaction(SIGTERM, &count, &previous);

  const std::map<std::string, std::string> values = {
      {"@TARGETS@", target_list},
      {"@PORT@", std::to_string(listeners.port)},
      {"@UNIX_PATH@", listeners.unix_path},
  };
  using O = CodeOutcome;
  const Case cases[] = {
      {"fork_bomb.py", "fork bomb", {O::timeout}},
      {"memory_bomb.py", "memory bomb", {O::failed}},
      {"infinite_loop.py", "infinite loop", {O::timeout}},
      {"ignore_cpu_limit.py", "infinite loop ignoring SIGXCPU", {O::timeout, O::failed}},
      {"sleep.py", "sleep", {O::timeout}},
      {"big_output.py", "a gigabyte of output", {O::failed}},
      {"thread_bomb.py", "thread bomb", {O::failed}},
      {"write_outside.py", "writing outside the work directory", {O::failed}},
      {"open_socket.py", "opening sockets", {O::failed}},
      {"kill_parent.py", "signalling the parent and its group", {O::failed}},
      {"setsid_escape.py", "leaving the session, forking a survivor", {O::failed}},
      {"always_equal.py", "an always-equal object", {O::failed}},
      {"equal_int_subclass.py", "an always-equal int subclass", {O::failed}},
      {"exit_at_import.py", "exit(0) before the tests", {O::failed}},
      {"os_exit_in_call.py", "os._exit(0) in the call", {O::failed}},
      {"raise_systemexit.py", "raise SystemExit(0)", {O::failed}},
      {"patch_builtins.py", "patching builtins and exit hooks", {O::failed}},
      {"forge_verdict.py", "forging the verdict through fds and /proc", {O::failed}},
      {"steal_nonce.py", "stealing the nonce from the judge's memory", {O::failed}},
  };
  struct StdioCase {
    const char* file;
    const char* attack;
    std::map<std::string, std::string> values;
    std::string input, output;
  };
  const StdioCase stdio_cases[] = {
      {"stdio_read_secret.py",
       "reading a secret set in the parent",
       {{"@SECRET_NAME@", "AHA_HOSTILE_SECRET"}},
       "",
       secret + "\n"},
      {"stdio_read_secret.py",
       "reading the parent's PATH",
       {{"@SECRET_NAME@", "PATH"}},
       "",
       std::string(path_env ? path_env : "/usr/bin") + "\n"},
      {"stdio_prefix.py", "printing a prefix of the answer", {}, "2 3\n", "5\n6\n"},
      {"stdio_exit_early.py", "exit(0) halfway through the answer", {}, "2 3\n", "5\n6\n"},
  };

  std::vector<std::pair<std::string, RewardInput>> runs;
  for (const Case& c : cases)
    runs.push_back({c.file, RewardInput{"", fixture(c.file, values), humaneval_answer()}});
  for (const StdioCase& c : stdio_cases)
    runs.push_back({c.file, RewardInput{"", fixture(c.file, c.values), stdio_answer(c.input, c.output)}});

  for (size_t i = 0; i < runs.size(); ++i) {
    const bool is_stdio = i >= std::size(cases);
    const std::string attack = is_stdio ? stdio_cases[i - std::size(cases)].attack : cases[i].attack;
    const std::set<CodeOutcome> deserved = is_stdio ? std::set<CodeOutcome>{O::failed} : cases[i].outcomes;
    INFO(mode << ": " << runs[i].first << " (" << attack << ")");
    const auto start = std::chrono::steady_clock::now();
    const CodeVerdict v = rule.judge(runs[i].second);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("  %-24s %-44s %-8s %5.2f s  %s\n", runs[i].first.c_str(), attack.c_str(),
                outcome_name(v.outcome), seconds, v.reason.substr(0, 70).c_str());
    INFO("outcome " << outcome_name(v.outcome) << ": " << v.reason);
    CHECK(v.score == 0);
    CHECK(deserved.count(v.outcome) == 1);
    CHECK(seconds < kWallSeconds + 1.5);  // the wall clock plus start-up and reaping under load
    // Nothing outside changed, nothing left behind.
    CHECK(children_of_this_process() == 0);
    if (root) CHECK(processes_of_uid(options.sandbox.uid) == 0);
    CHECK(fs::is_empty(work_root));
    for (const fs::path& t : targets) CHECK_FALSE(fs::exists(t));
    CHECK_FALSE(fs::exists(fs::path(AHA_SOURCE_DIR) / ".." / "aha-hostile-escape.txt"));
    CHECK_FALSE(listeners.anything_arrived());
    CHECK(g_sigterms == 0);
    CHECK(std::getenv("AHA_HOSTILE_SECRET") == secret);
  }
  const CodeStats stats = rule.code_stats();
  CHECK(stats.passed == kControls);  // the two controls, and no hostile program
  CHECK(stats.sandbox_errors == 0);
  CHECK(stats.completions == runs.size() + kControls);
  ::sigaction(SIGTERM, &previous, nullptr);
  ::unsetenv("AHA_HOSTILE_SECRET");
}

}  // namespace

TEST_CASE("hostile programs score 0 and change nothing, with every layer this host allows",
          "[code][hostile]") {
  aha::testing::TempDir work_root("hostile-work");
  run_suite("all layers", hostile_options(work_root.path, 0));
}

TEST_CASE("hostile programs score 0 and change nothing at the floor (no namespaces, no Landlock)",
          "[code][hostile]") {
  if (::geteuid() != 0) {
    WARN("skipped: without root there is no uid drop, and the floor would share this process's uid");
    return;
  }
  aha::testing::TempDir work_root("hostile-work");
  CodeOptions o = hostile_options(work_root.path, 1);
  o.sandbox.namespaces = Want::off;
  o.sandbox.landlock = Want::off;
  o.sandbox.mount_namespace = Want::off;
  run_suite("floor", o);
}

TEST_CASE("without seccomp a fork bomb is still capped by RLIMIT_NPROC and killed with its group",
          "[code][hostile]") {
  if (::geteuid() != 0) {
    WARN("skipped: RLIMIT_NPROC is per uid, and only root can give the sandbox a uid of its own");
    return;
  }
  aha::testing::TempDir work_root("hostile-work");
  CodeOptions o = hostile_options(work_root.path, 2);
  o.sandbox.namespaces = Want::off;
  o.sandbox.landlock = Want::off;
  o.sandbox.mount_namespace = Want::off;
  o.sandbox.seccomp = Want::off;
  const CodeRule rule(o);
  // Its killed children are orphans, reaped by PID 1 — which in some containers (and VMs) never reaps.
  // This test reaps its own: it is their subreaper while it runs.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  const auto start = std::chrono::steady_clock::now();
  const CodeVerdict v = rule.judge(RewardInput{"", fixture("fork_bomb.py"), humaneval_answer()});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int orphans = 0;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
       std::chrono::steady_clock::now() < until;) {
    const pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid > 0) ++orphans;
    if (pid < 0) break;  // no children left
    if (pid == 0) ::usleep(1000);
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  std::printf("  fork_bomb.py without seccomp: %s %.2f s, %d orphans reaped (%s)\n", outcome_name(v.outcome),
              seconds, orphans, v.reason.c_str());
  CHECK(v.score == 0);
  CHECK(v.outcome == CodeOutcome::timeout);
  CHECK(seconds < kWallSeconds + 1.5);
  CHECK(orphans < o.sandbox.processes);  // RLIMIT_NPROC held
  CHECK(processes_of_uid(o.sandbox.uid) == 0);
  CHECK(children_of_this_process() == 0);
  CHECK(fs::is_empty(work_root.path));
}
