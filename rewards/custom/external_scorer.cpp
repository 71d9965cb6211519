// The JSON-lines reward client: timeouts, restarts, fallbacks (see external_scorer.h).
#include "rewards/custom/external_scorer.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

namespace aha::rewards {
namespace {

constexpr std::chrono::milliseconds kExitGrace(100);  // lets a dying process report its own status

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

}  // namespace

std::string encode_reward_request(std::span<const RewardInput> inputs) {
  nlohmann::json items = nlohmann::json::array();
  for (const RewardInput& input : inputs) {
    items.push_back({{"prompt", input.prompt}, {"completion", input.completion}, {"answer", input.answer}});
    if (input.row) items.back()["row"] = *input.row;  // every field of the data row
  }
  const nlohmann::json request = {{"version", 1}, {"inputs", std::move(items)}};
  // ASCII-only JSON: no locale or encoding setting on the other side can misread it. Invalid UTF-8 in
  // model output becomes U+FFFD instead of an exception.
  return request.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace) + "\n";
}

std::optional<RewardReply> decode_reward_reply(std::string_view line, size_t n, std::string& why) {
  const nlohmann::json reply = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  const auto shown = [&] {
    return line.size() > 200 ? std::string(line.substr(0, 200)) + "..." : std::string(line);
  };
  if (!reply.is_object()) {
    why = "expected a JSON object like {\"scores\": [...]}, got: " + shown();
    return std::nullopt;
  }
  RewardReply out;
  if (reply.contains("error") && !reply.contains("scores")) {
    out.error = reply["error"].is_string() ? reply["error"].get<std::string>() : reply["error"].dump();
    return out;
  }
  if (!reply.contains("scores") || !reply["scores"].is_array()) {
    why = "expected {\"scores\": [...]} or {\"error\": \"...\"}, got: " + shown();
    return std::nullopt;
  }
  const nlohmann::json& scores = reply["scores"];
  if (scores.size() != n) {
    why = "expected " + std::to_string(n) + " scores, got " + std::to_string(scores.size());
    return std::nullopt;
  }
  for (const nlohmann::json& score : scores)
    out.scores.push_back(score.is_number() ? std::optional<double>(score.get<double>()) : std::nullopt);
  return out;
}

ExternalScorer::ExternalScorer(std::string label, Start start, double timeout_s, double fallback)
    : label_(std::move(label)), start_(std::move(start)), timeout_(timeout_s), fallback_(fallback) {}

void ExternalScorer::start_now() {
  process_ = start_(ChildProcess::Clock::now() +
                    std::chrono::duration_cast<ChildProcess::Clock::duration>(timeout_));
  started_once_ = true;
}

void ExternalScorer::discard_process() {
  process_->stop();  // no grace: it is hung or talking nonsense
  process_.reset();
}

void ExternalScorer::note(const std::string& event) {
  ++events_;
  if (events_ <= 20 || events_ % 100 == 0)
    std::cerr << "aha: " << label_ << ": " << event << " (event " << events_ << ")\n";
}

ExternalScorer::Outcome ExternalScorer::attempt(std::span<const RewardInput> inputs,
                                                std::span<std::optional<double>> scores,
                                                ChildProcess::Clock::time_point deadline) {
  const std::string batch = "a batch of " + std::to_string(inputs.size());
  if (!process_) {
    try {
      process_ = start_(deadline);
    } catch (const std::exception& e) {
      ++stats_.start_failures;
      note(std::string("could not start (") + e.what() + "); " + batch + " scored the fallback");
      return Outcome::not_started;
    }
    if (started_once_) ++stats_.restarts;
    started_once_ = true;
  }
  std::string line;
  switch (process_->exchange(encode_reward_request(inputs), deadline, line)) {
    case ChildProcess::Read::timeout:
      discard_process();
      ++stats_.timeouts;
      note("timed out after " + seconds_text(timeout_.count()) + " s on " + batch +
           "; killed, a fresh process serves the next request");
      return Outcome::timed_out;
    case ChildProcess::Read::closed: {
      const std::string ended = process_->stop(kExitGrace);
      process_.reset();
      ++stats_.crashes;
      note("the process " + ended + " while scoring " + batch + "; restarting");
      return Outcome::died;
    }
    case ChildProcess::Read::too_long:
      discard_process();
      ++stats_.protocol_errors;
      note("reply longer than " + std::to_string(ChildProcess::kMaxLineBytes) + " bytes; restarting");
      return Outcome::failed;
    case ChildProcess::Read::line:
      break;
  }
  std::string why;
  const std::optional<RewardReply> reply = decode_reward_reply(line, inputs.size(), why);
  if (!reply) {
    discard_process();
    ++stats_.protocol_errors;
    note("unreadable reply to " + batch + ": " + why + "; restarting (print logs to stderr, not stdout)");
    return Outcome::failed;
  }
  if (reply->error) {
    ++stats_.protocol_errors;
    note("replied with an error to " + batch + ": " + *reply->error);
    return Outcome::failed;
  }
  size_t missing = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    scores[i] = reply->scores[i];
    missing += !scores[i];
  }
  if (missing > 0) note("no score for " + std::to_string(missing) + " of " + batch);
  return Outcome::done;
}

std::vector<double> ExternalScorer::score_batch(std::span<const RewardInput> inputs) {
  ++stats_.batches;
  stats_.samples += inputs.size();
  std::vector<std::optional<double>> scores(inputs.size());
  if (!inputs.empty()) {
    const auto deadline =
        ChildProcess::Clock::now() + std::chrono::duration_cast<ChildProcess::Clock::duration>(timeout_);
    if (attempt(inputs, scores, deadline) == Outcome::died && inputs.size() > 1) {
      // One sample may be what kills it: retry them one by one in fresh processes.
      int deaths = 0;
      for (size_t i = 0; i < inputs.size() && deaths < kMaxCrashRetries; ++i) {
        const Outcome outcome = attempt(inputs.subspan(i, 1), std::span(scores).subspan(i, 1), deadline);
        if (outcome == Outcome::died) ++deaths;
        if (outcome == Outcome::timed_out || outcome == Outcome::not_started) break;
      }
    }
  }
  std::vector<double> out;
  out.reserve(inputs.size());
  for (const std::optional<double>& score : scores) {
    stats_.failed_samples += !score;
    out.push_back(score.value_or(fallback_));
  }
  return out;
}

}  // namespace aha::rewards
