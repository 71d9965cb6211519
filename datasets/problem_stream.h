// The order in which training draws problems, as a pure function of a draw index k (the number of prompts
// drawn before), so a resumed run continues with exactly the problems an uninterrupted one would draw:
//   train_size == 0:  problem k of task.problems(Train, ·, seed): a fresh problem for every draw, never an
//                     epoch boundary (synthetic tasks);
//   train_size == M:  a pool of M problems; draw k is pool[perm_e[k mod M]] with e = k / M the epoch and
//                     perm_e a Fisher–Yates shuffle seeded by (seed, e): each epoch visits every problem
//                     once, in its own order.
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/task.h"

namespace aha::datasets {

class ProblemStream {
 public:
  // Throws std::invalid_argument when train_size < 0 or the task has fewer than train_size problems.
  ProblemStream(const Task& task, uint64_t seed, int64_t train_size);

  const Problem& at(int64_t k);
  int64_t epoch_of(int64_t k) const { return train_size_ > 0 ? k / train_size_ : 0; }

 private:
  const Task& task_;
  uint64_t seed_;
  int64_t train_size_;
  std::vector<Problem> pool_;
  int64_t permuted_epoch_ = -1;
  std::vector<int64_t> permutation_;
};

}  // namespace aha::datasets
