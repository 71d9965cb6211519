// Graceful stop on SIGINT/SIGTERM; see stop_signal.h.
#include "grpo/stop_signal.h"

#include <atomic>
#include <csignal>

namespace aha::grpo {
namespace {

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int signal) {
  g_stop_signal.store(signal);
  std::signal(signal, SIG_DFL);  // a second Ctrl-C kills the process the default way
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

bool stop_requested() {
  return g_stop_signal.load() != 0;
}

int stop_signal() {
  return g_stop_signal.load();
}

}  // namespace aha::grpo
