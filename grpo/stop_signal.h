// SIGINT/SIGTERM set a flag the training loop checks after each step: it writes a checkpoint and returns.
// A second signal kills the process the default way.
#pragma once

namespace aha::grpo {

void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked to stop, 0 if none

}  // namespace aha::grpo
