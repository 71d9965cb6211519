// Epoch-shuffled, weighted problem order; see problem_stream.h.
#include "datasets/problem_stream.h"

#include <numeric>
#include <stdexcept>
#include <string>

#include "datasets/rng.h"

namespace aha::datasets {
namespace {

constexpr uint64_t kEpochSalt = 0x45504f4348ULL;  // "EPOCH"
constexpr uint64_t kMixSalt = 0x4d49585552ULL;    // "MIXUR"

}  // namespace

ProblemStream::ProblemStream(std::vector<LoadedSource> sources, uint64_t seed, Keep keep)
    : sources_(std::move(sources)), seed_(seed), keep_(std::move(keep)) {
  if (sources_.empty()) throw std::invalid_argument("data.train: no source to draw problems from");
  double total = 0;
  for (const auto& s : sources_) total += s.spec.weight;
  double running = 0;
  for (auto& s : sources_) {
    running += s.spec.weight;
    cumulative_.push_back(running / total);
    int64_t dropped = 0;
    if (keep_ && !s.infinite()) {
      const size_t before = s.problems.size();
      std::erase_if(s.problems, [&](const Problem& p) { return !keep_(p); });
      dropped = static_cast<int64_t>(before - s.problems.size());
      if (s.problems.empty())
        throw std::invalid_argument("data source " + s.name + ": every one of its " + std::to_string(before) +
                                    " problems is longer than data.max_prompt_length");
    }
    dropped_.push_back(dropped);
  }
  cumulative_.back() = 1.0;
  counts_.assign(sources_.size(), 0);
  permuted_epoch_.assign(sources_.size(), -1);
  permutation_.resize(sources_.size());
}

ProblemStream::ProblemStream(const Task& task, uint64_t seed, int64_t train_size)
    : seed_(seed), cumulative_{1.0}, counts_{0}, dropped_{0}, permuted_epoch_{-1}, permutation_(1) {
  if (train_size < 0) throw std::invalid_argument("data.train_size: must be >= 0; got " + std::to_string(train_size));
  LoadedSource s;
  s.name = task.name();
  s.task_seed = seed;
  if (train_size > 0) {
    s.problems = task.problems(Split::Train, static_cast<size_t>(train_size), seed);
    if (static_cast<int64_t>(s.problems.size()) < train_size)
      throw std::invalid_argument("data.train_size = " + std::to_string(train_size) + ": task " + task.name() +
                                  " has only " + std::to_string(s.problems.size()) + " training problems");
  } else {
    borrowed_task_ = &task;
  }
  sources_.push_back(std::move(s));
}

const ProblemStream::Draw& ProblemStream::draw(int64_t k) {
  if (k < 0) throw std::invalid_argument("ProblemStream::at: negative draw index");
  while (static_cast<int64_t>(draws_.size()) <= k) {
    const uint64_t index = draws_.size();
    Draw d;
    if (sources_.size() > 1) {
      const double u = static_cast<double>(mix_seed(seed_, kMixSalt + index) >> 11) * 0x1.0p-53;
      while (u >= cumulative_[d.source]) ++d.source;
    }
    d.local = counts_[d.source]++;
    draws_.push_back(d);
  }
  return draws_[static_cast<size_t>(k)];
}

const Problem& ProblemStream::from_source(size_t i, int64_t j) {
  LoadedSource& s = sources_[i];
  const Task* task = s.task ? s.task.get() : borrowed_task_;
  if (task) {  // a fresh problem every draw: grow the (filtered) list by doubling
    std::vector<Problem>& list = s.problems;
    size_t count = std::max<size_t>(64, list.size() + dropped_[i]);
    while (static_cast<int64_t>(list.size()) <= j) {
      count *= 2;
      auto all = task->problems(Split::Train, count, s.task_seed);
      const bool exhausted = all.size() < count;
      list.clear();
      dropped_[i] = 0;
      for (auto& p : all) {
        if (keep_ && !keep_(p)) ++dropped_[i];
        else list.push_back(std::move(p));
      }
      for (Problem& p : list) p.data_source = s.name;
      if (exhausted && static_cast<int64_t>(list.size()) <= j)
        throw std::runtime_error("task " + task->name() + " ran out of training problems at draw " +
                                 std::to_string(j));
    }
    return list[static_cast<size_t>(j)];
  }
  const int64_t M = static_cast<int64_t>(s.problems.size());
  const int64_t epoch = j / M;
  if (epoch != permuted_epoch_[i]) {
    std::vector<int64_t>& perm = permutation_[i];
    perm.resize(static_cast<size_t>(M));
    std::iota(perm.begin(), perm.end(), 0);
    const uint64_t salt = kEpochSalt + static_cast<uint64_t>(epoch) + (static_cast<uint64_t>(i) << 40);
    Rng rng(mix_seed(seed_, salt));
    for (int64_t x = M - 1; x > 0; --x) std::swap(perm[x], perm[rng.uniform_int(0, x)]);
    permuted_epoch_[i] = epoch;
  }
  return s.problems[static_cast<size_t>(permutation_[i][static_cast<size_t>(j % M)])];
}

const Problem& ProblemStream::at(int64_t k) {
  const Draw& d = draw(k);
  return from_source(static_cast<size_t>(d.source), d.local);
}

int64_t ProblemStream::epoch_of(int64_t k) {
  const LoadedSource& first = sources_.front();
  if (first.task || borrowed_task_ || k < 0) return 0;
  const int64_t M = static_cast<int64_t>(first.problems.size());
  if (sources_.size() == 1) return k / M;
  draw(k);
  int64_t drawn = 0;  // draws of the first source up to and including k
  for (int64_t x = 0; x <= k; ++x) drawn += draws_[static_cast<size_t>(x)].source == 0 ? 1 : 0;
  return drawn == 0 ? 0 : (drawn - 1) / M;
}

}  // namespace aha::datasets
