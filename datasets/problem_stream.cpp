// Epoch-shuffled problem order; see problem_stream.h.
#include "datasets/problem_stream.h"

#include <numeric>
#include <stdexcept>
#include <string>

#include "datasets/rng.h"

namespace aha::datasets {

ProblemStream::ProblemStream(const Task& task, uint64_t seed, int64_t train_size)
    : task_(task), seed_(seed), train_size_(train_size) {
  if (train_size < 0) throw std::invalid_argument("data.train_size: must be >= 0; got " + std::to_string(train_size));
  if (train_size > 0) {
    pool_ = task.problems(Split::Train, static_cast<size_t>(train_size), seed);
    if (static_cast<int64_t>(pool_.size()) < train_size)
      throw std::invalid_argument("data.train_size = " + std::to_string(train_size) + ": task " + task.name() +
                                  " has only " + std::to_string(pool_.size()) + " training problems");
  }
}

const Problem& ProblemStream::at(int64_t k) {
  if (k < 0) throw std::invalid_argument("ProblemStream::at: negative draw index");
  if (train_size_ == 0) {
    if (k >= static_cast<int64_t>(pool_.size())) {  // a larger count extends the list: grow by doubling
      const size_t count = std::max<size_t>(static_cast<size_t>(k) + 1, pool_.size() * 2);
      pool_ = task_.problems(Split::Train, count, seed_);
      if (static_cast<int64_t>(pool_.size()) <= k)
        throw std::runtime_error("task " + task_.name() + " ran out of training problems at draw " + std::to_string(k));
    }
    return pool_[static_cast<size_t>(k)];
  }
  const int64_t epoch = k / train_size_;
  if (epoch != permuted_epoch_) {
    permutation_.resize(static_cast<size_t>(train_size_));
    std::iota(permutation_.begin(), permutation_.end(), 0);
    Rng rng(mix_seed(seed_, 0x45504f4348ULL + static_cast<uint64_t>(epoch)));  // "EPOCH" + e
    for (int64_t i = train_size_ - 1; i > 0; --i) std::swap(permutation_[i], permutation_[rng.uniform_int(0, i)]);
    permuted_epoch_ = epoch;
  }
  return pool_[static_cast<size_t>(permutation_[static_cast<size_t>(k % train_size_)])];
}

}  // namespace aha::datasets
