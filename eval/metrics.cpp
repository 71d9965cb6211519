// pass@k and majority voting (see metrics.h).
#include "eval/metrics.h"

#include <stdexcept>

namespace aha::eval {

double pass_at_k(int64_t n, int64_t c, int64_t k) {
  if (n < 1 || c < 0 || c > n || k < 1 || k > n)
    throw std::invalid_argument("pass@k: need 0 <= c <= n and 1 <= k <= n, got n=" + std::to_string(n) +
                                " c=" + std::to_string(c) + " k=" + std::to_string(k));
  if (n - c < k) return 1.0;  // every k-subset holds a correct sample
  double all_wrong = 1.0;     // C(n-c, k) / C(n, k)
  for (int64_t i = n - c + 1; i <= n; ++i) all_wrong *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
  return 1.0 - all_wrong;
}

std::vector<int64_t> pass_at_k_ladder(int64_t n) {
  std::vector<int64_t> ks;
  for (int64_t k = 1; k <= n; k *= 2) ks.push_back(k);
  if (n >= 1 && ks.back() != n) ks.push_back(n);
  return ks;
}

MajorityVote majority_vote(const std::vector<std::optional<std::string>>& answers,
                           const std::function<bool(const std::string&, const std::string&)>& same) {
  struct Group {
    size_t first;
    int64_t votes;
  };
  std::vector<Group> groups;  // in order of first appearance
  MajorityVote vote;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i]) continue;
    ++vote.voters;
    bool joined = false;
    for (Group& g : groups)
      if (same(*answers[g.first], *answers[i])) {
        ++g.votes;
        joined = true;
        break;
      }
    if (!joined) groups.push_back({i, 1});
  }
  for (const Group& g : groups)  // strictly more votes: a tie keeps the earlier group
    if (g.votes > vote.votes) {
      vote.winner = g.first;
      vote.votes = g.votes;
    }
  return vote;
}

}  // namespace aha::eval
