// The sandbox's process plumbing and layers, one behaviour per test: what a child sees (environment,
// working directory, fds), what it cannot do at the floor of the layers, and how runs end (exit, wall
// clock, CPU limit, output cap) with nothing left behind. Python is the child, as in the code reward.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "rewards/code/sandbox.h"
#include "tests/common/temp_dir.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

SandboxConfig quick(const fs::path& work_root) {
  SandboxConfig c;
  c.wall_seconds = 2;
  c.cpu_seconds = 1;
  c.output_bytes = 64 << 10;
  c.work_root = work_root.string();
  return c;
}

ProcessSpec python(const Sandbox& sandbox, const std::string& code, const std::string& stdin_data = "") {
  return ProcessSpec{{sandbox.python(), "-I", "-S", "-c", code}, stdin_data, {}};
}

bool group_is_gone(int pgid) {
  return ::kill(-pgid, 0) != 0 && errno == ESRCH;
}

}  // namespace

TEST_CASE("sandbox: the probe enters the layers every host allows and names them", "[sandbox]") {
  aha::testing::TempDir work("sandbox");
  const Sandbox sandbox(quick(work.path));
  INFO("layers: " << describe_layers(sandbox.layers()) << "; probe error: " << sandbox.probe_error());
  REQUIRE(sandbox.probe_error().empty());
  for (uint32_t layer : {kLayerSession, kLayerRlimits, kLayerCleanEnv, kLayerSeccomp})
    CHECK((sandbox.layers() & layer));
  if (::geteuid() == 0) CHECK((sandbox.layers() & kLayerUidDrop));
  CHECK(describe_layers(kLayerSession | kLayerSeccomp) == "session seccomp");
  CHECK(describe_layers(0) == "none");
}

TEST_CASE("sandbox: a child gets an empty environment, a fresh empty directory and no inherited fds",
          "[sandbox]") {
  aha::testing::TempDir work("sandbox");
  ::setenv("AHA_SANDBOX_TEST_SECRET", "hunter2", 1);
  const Sandbox sandbox(quick(work.path));
  const RunResult r = sandbox.run({python(sandbox,
                                          "import os\n"
                                          "print(sorted(k for k in os.environ if k != 'LC_CTYPE'))\n"
                                          "print(os.listdir('.'))\n"
                                          "print(os.getcwd())\n"
                                          "open_fds = []\n"
                                          "for fd in range(3, 256):\n"
                                          "    try:\n"
                                          "        os.fstat(fd)\n"
                                          "        open_fds.append(fd)\n"
                                          "    except OSError:\n"
                                          "        pass\n"
                                          "print(open_fds)\n")});
  ::unsetenv("AHA_SANDBOX_TEST_SECRET");
  INFO(r.processes[0].err);
  REQUIRE(r.error.empty());
  CHECK(r.processes[0].exit_code == 0);
  // Python adds LC_CTYPE itself when it coerces the C locale; nothing else may be there.
  CHECK(r.processes[0].out.starts_with("[]\n[]\n" + work.path.string() + "/aha-sandbox-"));
  CHECK(r.processes[0].out.ends_with("\n[]\n"));
  CHECK(fs::is_empty(work.path));  // the work directory is gone after the run
}

TEST_CASE("sandbox: stdin is fed, stdout and stderr are captured apart, exit codes come back", "[sandbox]") {
  aha::testing::TempDir work("sandbox");
  const Sandbox sandbox(quick(work.path));
  const std::string big(1 << 20, 'x');  // larger than a pipe's buffer: the feed must interleave with reads
  const RunResult r = sandbox.run({python(sandbox,
                                          "import sys\n"
                                          "data = sys.stdin.read()\n"
                                          "print(len(data))\n"
                                          "print('to stderr', file=sys.stderr)\n"
                                          "sys.exit(3)\n",
                                          big)});
  REQUIRE(r.error.empty());
  CHECK(r.processes[0].out == "1048576\n");
  CHECK(r.processes[0].err == "to stderr\n");
  CHECK(r.processes[0].exit_code == 3);
  CHECK(r.processes[0].signal == 0);
  CHECK_FALSE(r.timed_out);
}

TEST_CASE("sandbox: a child that stops reading its stdin cannot kill the parent with SIGPIPE", "[sandbox]") {
  aha::testing::TempDir work("sandbox");
  const Sandbox sandbox(quick(work.path));
  const RunResult r = sandbox.run({python(sandbox, "import os\nos.close(0)\n", std::string(8 << 20, 'x'))});
  REQUIRE(r.error.empty());
  CHECK(r.processes[0].exit_code == 0);  // and this test process is still here
}

TEST_CASE("sandbox: the wall clock kills a sleeping child, and its process group is gone after",
          "[sandbox]") {
  aha::testing::TempDir work("sandbox");
  SandboxConfig c = quick(work.path);
  c.wall_seconds = 0.5;
  const Sandbox sandbox(c);
  const RunResult r = sandbox.run({python(sandbox, "import time\ntime.sleep(60)\n")});
  REQUIRE(r.error.empty());
  CHECK(r.timed_out);
  CHECK(r.processes[0].signal == SIGKILL);
  CHECK(r.seconds < 0.5 + 1.0);
  REQUIRE(r.process_groups.size() == 1);
  CHECK(group_is_gone(r.process_groups[0]));
}

TEST_CASE("sandbox: the CPU limit ends a busy loop with SIGXCPU before the wall clock", "[sandbox]") {
  aha::testing::TempDir work("sandbox");
  SandboxConfig c = quick(work.path);
  c.wall_seconds = 5;
  const Sandbox sandbox(c);
  const RunResult r = sandbox.run({python(sandbox, "while True:\n    pass\n")});
  REQUIRE(r.error.empty());
  CHECK_FALSE(r.timed_out);
  CHECK(r.processes[0].signal == SIGXCPU);
}

TEST_CASE("sandbox: output past output_bytes kills the run at once and keeps only the cap", "[sandbox]") {
  aha::testing::TempDir work("sandbox");
  const Sandbox sandbox(quick(work.path));
  const RunResult r =
      sandbox.run({python(sandbox, "import sys\nwhile True:\n    sys.stdout.write('y' * 65536)\n")});
  REQUIRE(r.error.empty());
  CHECK(r.output_limited);
  CHECK_FALSE(r.timed_out);
  CHECK(r.processes[0].out.size() == 64u << 10);
  CHECK(r.seconds < 1.5);
}

TEST_CASE("sandbox: two processes talk through an internal pipe, and the rest die when the first exits",
          "[sandbox]") {
  aha::testing::TempDir work("sandbox");
  const Sandbox sandbox(quick(work.path));
  using Kind = ChildFd::Kind;
  const ProcessSpec reader{
      {sandbox.python(), "-I", "-S", "-c", "import os\nos.write(3, os.read(4, 100).upper())\n"},
      "",
      {{3, Kind::report, "", 0}, {4, Kind::pipe_read, "", 0}}};
  const ProcessSpec writer{
      {sandbox.python(), "-I", "-S", "-c", "import os, time\nos.write(5, b'hello')\ntime.sleep(60)\n"},
      "",
      {{5, Kind::pipe_write, "", 0}}};
  const RunResult r = sandbox.run({reader, writer});
  REQUIRE(r.error.empty());
  CHECK(r.report == "HELLO");
  CHECK_FALSE(r.timed_out);
  CHECK(r.processes[0].exit_code == 0);
  CHECK(r.processes[1].signal == SIGKILL);  // still sleeping when the first process ended
  for (int pgid : r.process_groups) CHECK(group_is_gone(pgid));
}

TEST_CASE(
    "sandbox: at the floor (no namespaces, no Landlock) seccomp still denies network, fork, "
    "signals, ptrace and leaving the session",
    "[sandbox]") {
  aha::testing::TempDir work("sandbox");
  SandboxConfig c = quick(work.path);
  c.namespaces = c.landlock = c.mount_namespace = Want::off;
  const Sandbox sandbox(c);
  if (!sandbox.probe_error().empty()) {
    WARN("skipped: " << sandbox.probe_error());
    return;
  }
  CHECK_FALSE((sandbox.layers() & (kLayerNetNs | kLayerLandlockFs | kLayerMountNs)));
  const RunResult r =
      sandbox.run({python(sandbox,
                          "import os, signal, socket, threading\n"
                          "def attempt(name, f):\n"
                          "    try:\n"
                          "        f()\n"
                          "        print(name, 'allowed')\n"
                          "    except OSError as e:\n"
                          "        print(name, 'denied', e.errno)\n"
                          "attempt('socket', lambda: socket.socket())\n"
                          "attempt('fork', os.fork)\n"
                          "attempt('kill', lambda: os.kill(os.getppid(), 0))\n"
                          "attempt('setsid', os.setsid)\n"
                          "attempt('setpgid', lambda: os.setpgid(0, 0))\n"
                          "attempt('prlimit', lambda: __import__('resource').prlimit(os.getppid(),"
                          " __import__('resource').RLIMIT_NOFILE))\n"
                          "t = threading.Thread(target=lambda: print('thread ran'))\n"
                          "t.start()\n"
                          "t.join()\n")});
  INFO(r.processes[0].err);
  REQUIRE(r.error.empty());
  CHECK(r.processes[0].out ==
        "socket denied 1\nfork denied 1\nkill denied 1\nsetsid denied 1\nsetpgid denied 1\nprlimit denied 1\n"
        "thread ran\n");
}

TEST_CASE(
    "sandbox: with Landlock or a mount namespace nothing outside the work directory is writable "
    "and /proc shows nothing",
    "[sandbox]") {
  aha::testing::TempDir work("sandbox"), outside("sandbox-outside");
  fs::permissions(outside.path, fs::perms::all);  // world-writable: only the sandbox may keep the child out
  const Sandbox sandbox(quick(work.path));
  if (!(sandbox.layers() & (kLayerLandlockFs | kLayerMountNs))) {
    WARN("skipped: this host allows neither Landlock nor a mount namespace");
    return;
  }
  const RunResult r = sandbox.run({python(sandbox,
                                          "import os\n"
                                          "open('inside.txt', 'w').write('ok')\n"
                                          "for path in ['" +
                                              (outside.path / "x").string() +
                                              "', '../x']:\n"
                                              "    try:\n"
                                              "        open(path, 'w')\n"
                                              "        print('wrote', path)\n"
                                              "    except OSError:\n"
                                              "        pass\n"
                                              "try:\n"
                                              "    print(len(os.listdir('/proc')))\n"
                                              "except OSError:\n"
                                              "    print('no /proc')\n")});
  INFO(r.processes[0].err);
  REQUIRE(r.error.empty());
  CHECK((r.processes[0].out == "no /proc\n" || r.processes[0].out == "0\n"));
  CHECK(outside.names().empty());
  CHECK(fs::is_empty(work.path));
}

TEST_CASE("sandbox: bad configs are rejected with the field named", "[sandbox]") {
  SandboxConfig c;
  c.wall_seconds = 0;
  CHECK_THROWS_WITH(c.validate(), Contains("wall_seconds"));
  c = {};
  c.open_files = 4;
  CHECK_THROWS_WITH(c.validate(), Contains("open_files"));
  c = {};
  c.python = "python3";
  CHECK_THROWS_WITH(c.validate(), Contains("absolute path"));
  c = {};
  c.python = "/nonexistent/python3";
  CHECK_THROWS_AS(Sandbox(c), std::invalid_argument);
}
