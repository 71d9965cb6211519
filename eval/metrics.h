// The sampling metrics of held-out evaluation, on n graded samples of one problem:
//   pass@k  Chen et al. 2021 ("Evaluating Large Language Models Trained on Code", eq. 1), the unbiased
//           estimate of P(at least one of k samples is correct) from n >= k samples of which c are:
//               pass@k = 1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k / i)
//           The product form (the paper's numpy snippet) never forms a binomial coefficient, so it
//           neither overflows nor cancels for n in the thousands. pass@1 = c / n.
//   maj@k   majority voting over the k samples' final answers (DeepSeek-R1's cons@64): samples are
//           grouped by their canonical answer (rewards/answer_key.h); a sample without one does not
//           vote; the group with the most votes wins, ties going to the group whose first sample came
//           earliest. The problem counts as solved when that first sample was graded correct.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace aha::eval {

// std::invalid_argument unless 0 <= c <= n and 1 <= k <= n.
double pass_at_k(int64_t n, int64_t c, int64_t k);

// The k at which a summary reports pass@k for n samples per problem: 1, 2, 4, 8, ... <= n, and n itself.
std::vector<int64_t> pass_at_k_ladder(int64_t n);

struct MajorityVote {
  std::optional<size_t> winner;  // index of the winning group's first sample; nullopt if nobody voted
  int64_t votes = 0;             // samples in the winning group
  int64_t voters = 0;            // samples with an answer
};

// `same(representative, other)`: whether `other` joins the group whose first answer is `representative`
// (groups are tried in order of first appearance; a sample joins the first that accepts it).
MajorityVote majority_vote(const std::vector<std::optional<std::string>>& answers,
                           const std::function<bool(const std::string&, const std::string&)>& same);

}  // namespace aha::eval
