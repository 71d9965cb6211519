// Fused lm_head + log-prob + entropy (see lm_head_logprobs.h for the equations): the input checks, the plain
// autograd reference, and a torch::autograd::Function whose forward keeps no [N, V] tensor and whose
// backward recomputes the logits chunk by chunk from the saved per-row max [N], log Σ exp [N] and H [N].
// lse is kept as its two halves so that log p = (logits − max) − log Σ exp(logits − max) rounds exactly as
// log_softmax does: logits − lse in one step loses an ulp of |lse| (~1e-6 at T = 0.7) and measurably
// drifts from the plain path.
// Legend: N rows (tokens), D hidden size, V vocabulary; a chunk's rows are n.
#include "kernels/lm_head_logprobs.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/token_logprobs.h"

namespace aha::kernels {
namespace {

void check_inputs(const torch::Tensor& hidden_ND, const torch::Tensor& weight_VD,
                  const torch::Tensor& targets_N, double temperature, int64_t chunk_rows) {
  const std::string where = "lm_head_logprobs: ";
  if (!hidden_ND.defined() || !weight_VD.defined() || !targets_N.defined())
    throw std::invalid_argument(where + "hidden, weight and targets must be defined tensors");
  if (hidden_ND.dim() != 2)
    throw std::invalid_argument(where + "hidden must be [N, D]; got " + describe_tensor(hidden_ND) +
                                " (flatten [B, T, D] with reshape({-1, D}))");
  if (hidden_ND.scalar_type() != torch::kFloat32 && hidden_ND.scalar_type() != torch::kBFloat16)
    throw std::invalid_argument(where + "hidden must be float32 or bfloat16; got " + describe_tensor(hidden_ND));
  if (weight_VD.dim() != 2 || weight_VD.size(0) < 1 || weight_VD.size(1) != hidden_ND.size(1))
    throw std::invalid_argument(
        where + "weight must be [V, D] with V >= 1 and D = " + std::to_string(hidden_ND.size(1)) +
        " (hidden's last dim); got " + describe_tensor(weight_VD));
  if (weight_VD.scalar_type() != hidden_ND.scalar_type())
    throw std::invalid_argument(where +
                                "weight and hidden must have one dtype (the matmul runs in it); got "
                                "weight " +
                                describe_tensor(weight_VD) + ", hidden " + describe_tensor(hidden_ND));
  if (weight_VD.device() != hidden_ND.device())
    throw std::invalid_argument(where + "weight is on " + weight_VD.device().str() + " but hidden is on " +
                                hidden_ND.device().str());
  if (targets_N.dim() != 1 || targets_N.size(0) != hidden_ND.size(0))
    throw std::invalid_argument(where + "targets must be [N] with N = " + std::to_string(hidden_ND.size(0)) +
                                " (one per hidden row); got " + describe_tensor(targets_N));
  if (targets_N.scalar_type() != torch::kInt64)
    throw std::invalid_argument(where + "targets must be int64; got " + describe_tensor(targets_N));
  if (targets_N.device() != hidden_ND.device())
    throw std::invalid_argument(where + "targets are on " + targets_N.device().str() + " but hidden is on " +
                                hidden_ND.device().str());
  if (!(temperature > 0.0) || !std::isfinite(temperature))
    throw std::invalid_argument(where + "temperature must be finite and > 0; got " +
                                std::to_string(temperature));
  if (chunk_rows <= 0)
    throw std::invalid_argument(where + "chunk_rows must be > 0; got " + std::to_string(chunk_rows));
}

// One chunk's logits in float32: the matmul in the weights' dtype (as the lm_head does), then the cast.
torch::Tensor chunk_logits(const torch::Tensor& hidden_nD, const torch::Tensor& weight_VD,
                           double temperature) {
  torch::Tensor logits_nV = torch::matmul(hidden_nD, weight_VD.t()).to(torch::kFloat32);  // [n, V]
  if (temperature != 1.0) logits_nV.div_(temperature);
  return logits_nV;
}

// Inputs: hidden, weight, targets (tensors: autograd edges 0, 1, 2), then temperature, chunk_rows,
// with_entropy, entropy_grad. Outputs: {logprobs_N} or {logprobs_N, entropy_N}.
class LmHeadLogprobsFunction : public torch::autograd::Function<LmHeadLogprobsFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& hidden_ND,
                                                const torch::Tensor& weight_VD,
                                                const torch::Tensor& targets_N, double temperature,
                                                int64_t chunk_rows, bool with_entropy, bool entropy_grad) {
    const int64_t N = hidden_ND.size(0);
    const auto float_options = hidden_ND.options().dtype(torch::kFloat32);
    torch::Tensor logprobs_N = torch::empty({N}, float_options);
    torch::Tensor max_N = torch::empty({N}, float_options);    // per-row max of the logits
    torch::Tensor log_z_N = torch::empty({N}, float_options);  // log Σ_v exp(logits − max)
    torch::Tensor entropy_N = with_entropy ? torch::empty({N}, float_options) : torch::Tensor();
    // Per chunk, at most two [n, V] fp32 buffers: log p (built in place from the logits) and one exp.
    for (int64_t start = 0; start < N; start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, N - start);
      const torch::Tensor targets_n1 = targets_N.narrow(/*dim=*/0, start, n).unsqueeze(/*dim=*/1);  // [n, 1]
      torch::Tensor log_p_nV = chunk_logits(hidden_ND.narrow(/*dim=*/0, start, n), weight_VD, temperature);
      const torch::Tensor max_n = log_p_nV.amax(/*dim=*/-1);                // [n]
      log_p_nV.sub_(max_n.unsqueeze(/*dim=*/1));                            // logits − max
      const torch::Tensor log_z_n = log_p_nV.exp().sum(/*dim=*/-1).log_();  // [n]
      log_p_nV.sub_(log_z_n.unsqueeze(/*dim=*/1));                          // log p
      max_N.narrow(/*dim=*/0, start, n).copy_(max_n);
      log_z_N.narrow(/*dim=*/0, start, n).copy_(log_z_n);
      logprobs_N.narrow(/*dim=*/0, start, n).copy_(log_p_nV.gather(/*dim=*/1, targets_n1).squeeze(/*dim=*/1));
      if (with_entropy)
        entropy_N.narrow(/*dim=*/0, start, n).copy_(log_p_nV.exp().mul_(log_p_nV).sum(/*dim=*/-1).neg_());
    }
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["chunk_rows"] = chunk_rows;
    ctx->saved_data["entropy_grad"] = with_entropy && entropy_grad;
    // H is needed by the backward only for the entropy gradient; an undefined tensor saves nothing.
    ctx->save_for_backward({hidden_ND, weight_VD, targets_N, max_N, log_z_N,
                            with_entropy && entropy_grad ? entropy_N : torch::Tensor()});
    if (!with_entropy) return {logprobs_N};
    if (!entropy_grad) ctx->mark_non_differentiable({entropy_N});
    return {logprobs_N, entropy_N};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& hidden_ND = saved[0];
    const torch::Tensor& weight_VD = saved[1];
    const torch::Tensor& targets_N = saved[2];
    const torch::Tensor& max_N = saved[3];
    const torch::Tensor& log_z_N = saved[4];
    const torch::Tensor& entropy_N = saved[5];
    const double temperature = ctx->saved_data["temperature"].toDouble();
    const int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    const bool entropy_grad = ctx->saved_data["entropy_grad"].toBool();
    const bool want_hidden = ctx->needs_input_grad(0);
    const bool want_weight = ctx->needs_input_grad(1);

    // Undefined upstream gradients arrive as zeros (materialize_grads is on by default).
    const torch::Tensor grad_logprobs_N = grad_outputs[0].to(torch::kFloat32);  // [N]
    const torch::Tensor grad_entropy_N =
        entropy_grad ? grad_outputs[1].to(torch::kFloat32) : torch::Tensor();  // [N]
    const int64_t N = hidden_ND.size(0);
    torch::Tensor grad_hidden_ND = want_hidden ? torch::empty_like(hidden_ND, torch::MemoryFormat::Contiguous)
                                               : torch::Tensor();                                 // [N, D]
    torch::Tensor grad_weight_VD = want_weight ? torch::zeros_like(weight_VD) : torch::Tensor();  // [V, D]
    for (int64_t start = 0; start < N && (want_hidden || want_weight); start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, N - start);
      // This chunk's slice of a per-row [N] tensor, as a column that broadcasts over V: [n, 1].
      const auto column_n1 = [&](const torch::Tensor& t_N) {
        return t_N.narrow(/*dim=*/0, start, n).unsqueeze(/*dim=*/1);
      };
      const torch::Tensor hidden_nD = hidden_ND.narrow(/*dim=*/0, start, n);
      // Two [n, V] fp32 buffers, reused in place: log p (then p · (log p + H)), and p (then grad_logits).
      torch::Tensor log_p_nV =
          chunk_logits(hidden_nD, weight_VD, temperature).sub_(column_n1(max_N)).sub_(column_n1(log_z_N));
      torch::Tensor grad_logits_nV = log_p_nV.exp();  // p
      // grad_logits = g_logp · (onehot(t) − p) [− g_H · p · (log p + H)]
      if (entropy_grad) log_p_nV.add_(column_n1(entropy_N)).mul_(grad_logits_nV);
      grad_logits_nV.mul_(-column_n1(grad_logprobs_N));
      if (entropy_grad) grad_logits_nV.addcmul_(log_p_nV, column_n1(grad_entropy_N), /*value=*/-1.0);
      grad_logits_nV.scatter_add_(/*dim=*/1, column_n1(targets_N), column_n1(grad_logprobs_N));
      if (temperature != 1.0) grad_logits_nV.div_(temperature);
      // The plain path's .to(float32) casts the gradient back to the weights' dtype before the matmul's
      // backward; doing the same keeps bf16 fused ≈ bf16 reference.
      const torch::Tensor grad_logits_w_nV = grad_logits_nV.to(weight_VD.scalar_type());
      if (want_hidden) {
        torch::Tensor grad_hidden_nD =
            grad_hidden_ND.narrow(/*dim=*/0, start, n);                  // a view, written in place
        torch::matmul_out(grad_hidden_nD, grad_logits_w_nV, weight_VD);  // [n, D]
      }
      if (want_weight) grad_weight_VD.addmm_(grad_logits_w_nV.t(), hidden_nD);  // [V, D]
    }
    // One slot per forward argument; targets and the non-tensor arguments take no gradient.
    return {grad_hidden_ND,  grad_weight_VD,  torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

LmHeadLogprobs lm_head_logprobs_reference(const torch::Tensor& hidden_ND, const torch::Tensor& weight_VD,
                                          const torch::Tensor& targets_N, double temperature,
                                          int64_t chunk_rows, bool with_entropy, bool entropy_grad) {
  check_inputs(hidden_ND, weight_VD, targets_N, temperature, chunk_rows);
  const int64_t N = hidden_ND.size(0);
  std::vector<torch::Tensor> logprobs, entropies;
  // N = 0 still runs one (empty) chunk so that torch::cat has a piece to join.
  for (int64_t start = 0; start < N || start == 0; start += chunk_rows) {
    const int64_t n = std::min(chunk_rows, N - start);
    torch::Tensor logits_nV =
        torch::matmul(hidden_ND.narrow(/*dim=*/0, start, n), weight_VD.t()).to(torch::kFloat32);  // [n, V]
    if (temperature != 1.0) logits_nV = logits_nV / temperature;
    logprobs.push_back(token_logprobs(logits_nV, targets_N.narrow(/*dim=*/0, start, n)));
    if (with_entropy) {
      std::optional<torch::NoGradGuard> no_grad;
      if (!entropy_grad) no_grad.emplace();
      const torch::Tensor log_p_nV =
          torch::log_softmax(entropy_grad ? logits_nV : logits_nV.detach(), /*dim=*/-1);
      entropies.push_back(-(log_p_nV.exp() * log_p_nV).sum(/*dim=*/-1));  // [n]
    }
  }
  return {torch::cat(logprobs), with_entropy ? torch::cat(entropies) : torch::Tensor()};
}

LmHeadLogprobs lm_head_logprobs(const torch::Tensor& hidden_ND, const torch::Tensor& weight_VD,
                                const torch::Tensor& targets_N, double temperature, int64_t chunk_rows,
                                bool with_entropy, bool entropy_grad) {
  check_inputs(hidden_ND, weight_VD, targets_N, temperature, chunk_rows);
  const auto outputs = LmHeadLogprobsFunction::apply(hidden_ND, weight_VD, targets_N, temperature, chunk_rows,
                                                     with_entropy, entropy_grad);
  return {outputs[0], with_entropy ? outputs[1] : torch::Tensor()};
}

}  // namespace aha::kernels
