// The client side of the JSON-lines reward protocol (written out for users in program_rule.h): sends a
// batch to a child process, reads its scores, and turns every way that can go wrong into the fallback
// score plus a counter, never an exception:
//   - timeout: the whole batch (including retries below) gets `timeout_s`; past it the process group is
//     killed, unanswered samples get the fallback, and the next batch starts a fresh process;
//   - the process dies mid-batch: it is restarted and, when the batch had several samples, they are
//     retried one per request, so only the sample that kills it gets the fallback. At most
//     kMaxCrashRetries more deaths are tolerated per batch, all within the same deadline;
//   - an error reply ({"error": ...}): the batch gets the fallback, the process is kept;
//   - an unreadable reply, or one with the wrong number of scores: the batch gets the fallback and the
//     process is restarted (its output can no longer be trusted to line up with requests);
//   - a null (or non-number) score: that sample gets the fallback.
// Each event is logged to stderr (the first 20, then every 100th) and counted in ExternalStats.
// Not thread-safe; the owning rule serialises calls.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rewards/batch_rule.h"
#include "rewards/custom/child_process.h"

namespace aha::rewards {

// The request line for `inputs` (ends in '\n'), and the parsed reply. A reply is {"scores": [...]}
// with one number or null per input, or {"error": "..."}; other keys are ignored.
std::string encode_reward_request(std::span<const RewardInput> inputs);
struct RewardReply {
  std::vector<std::optional<double>> scores;  // empty when `error` is set
  std::optional<std::string> error;
};
// nullopt (with `why`) when the line is not a reply for n inputs.
std::optional<RewardReply> decode_reward_reply(std::string_view line, size_t n, std::string& why);

class ExternalScorer {
 public:
  static constexpr int kMaxCrashRetries = 3;
  // Starts a process, ready for requests, or throws std::runtime_error saying why; it may use the
  // deadline for a handshake.
  using Start = std::function<std::unique_ptr<ChildProcess>(ChildProcess::Clock::time_point deadline)>;

  // `label` names the rule and what runs, for logs: "reward rule 'program' (python3 reward.py)".
  ExternalScorer(std::string label, Start start, double timeout_s, double fallback);

  // Starts the process now, so that a bad command or a failing init is a config error; rethrows.
  void start_now();
  std::vector<double> score_batch(std::span<const RewardInput> inputs);
  const ExternalStats& stats() const { return stats_; }

 private:
  enum class Outcome { done, died, timed_out, failed, not_started };
  Outcome attempt(std::span<const RewardInput> inputs, std::span<std::optional<double>> scores,
                  ChildProcess::Clock::time_point deadline);
  void discard_process();
  void note(const std::string& event);

  std::string label_;
  Start start_;
  std::chrono::duration<double> timeout_;
  double fallback_;
  std::unique_ptr<ChildProcess> process_;
  bool started_once_ = false;
  uint64_t events_ = 0;
  ExternalStats stats_;
};

}  // namespace aha::rewards
