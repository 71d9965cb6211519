// The order in which training draws problems, as a pure function of a draw index k (the number of prompts
// drawn before), so a resumed run continues with exactly the problems an uninterrupted one would draw.
// Draw k first picks a source: with one source always it, with several source i with probability
// weight_i / Σ weights, from a hash of (seed, k). Within a source, its j-th draw is
//   a finite pool of M problems (a file, a benchmark, a generator with size M):  pool[perm_e[j mod M]],
//       e = j / M the source's epoch and perm_e a Fisher–Yates shuffle seeded by (seed, source, e): each
//       epoch visits every problem once, in its own order;
//   a generator with size 0: problem j of task.problems(Train, ·, seed), a fresh problem every draw.
// `keep` filters problems (data.max_prompt_length): a pool drops them once, at construction, and counts
// them; a generator's list skips them, which keeps draw j a function of j.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "datasets/sources.h"

namespace aha::datasets {

class ProblemStream {
 public:
  using Keep = std::function<bool(const Problem&)>;

  // std::invalid_argument when `sources` is empty or a source keeps no problem.
  ProblemStream(std::vector<LoadedSource> sources, uint64_t seed, Keep keep = nullptr);
  // One task as the only source (tests, pretraining): a pool of train_size problems of its train split, or
  // a fresh problem every draw when train_size is 0.
  ProblemStream(const Task& task, uint64_t seed, int64_t train_size);

  const Problem& at(int64_t k);
  // The epoch of the first source when draw k is made (the "epoch" of a run's metrics).
  int64_t epoch_of(int64_t k);
  const std::vector<LoadedSource>& sources() const { return sources_; }
  // Problems `keep` dropped from each source's pool (generators: among those generated so far).
  const std::vector<int64_t>& dropped() const { return dropped_; }

 private:
  struct Draw {
    int32_t source = 0;
    int64_t local = 0;  // the source's own draw index j
  };
  const Draw& draw(int64_t k);
  const Problem& from_source(size_t i, int64_t j);

  std::vector<LoadedSource> sources_;
  uint64_t seed_;
  Keep keep_;
  std::vector<double> cumulative_;  // normalised cumulative weights
  std::vector<Draw> draws_;         // draws_[k], computed in order as far as asked
  std::vector<int64_t> counts_;     // draws per source among draws_
  std::vector<int64_t> dropped_;
  std::vector<int64_t> permuted_epoch_;
  std::vector<std::vector<int64_t>> permutation_;
  const Task* borrowed_task_ = nullptr;  // the single-task constructor's task (not owned)
};

}  // namespace aha::datasets
