// MoE dispatch, grouped and looped; see moe.h.
#include "policy/moe.h"

namespace aha::policy {

MoeImpl::MoeImpl(const ModelConfig& c) : top_k(c.num_experts_per_tok) {
  gate = register_module("gate", MoeGate(c));
  experts = register_module("experts", torch::nn::ModuleList());
  for (int64_t e = 0; e < c.n_routed_experts; ++e) experts->push_back(Mlp(c.hidden_size, c.moe_intermediate_size));
  if (c.n_shared_experts > 0)
    shared_experts =
        register_module("shared_experts", Mlp(c.hidden_size, c.moe_intermediate_size * c.n_shared_experts));
  expert_load = torch::zeros({c.n_routed_experts}, torch::kDouble);
}

torch::Tensor MoeImpl::forward(const torch::Tensor& x_BTD, const MoeCall& call) {
  const int64_t D = x_BTD.size(-1);
  auto x_ND = x_BTD.reshape({-1, D});
  auto routing = gate(x_ND, call.replay_idx_NK);
  if (call.record_idx_NK) *call.record_idx_NK = routing.topk_idx_NK;
  if (call.count_mask_N.defined()) {
    torch::NoGradGuard no_grad;
    auto counted = routing.topk_idx_NK.index({call.count_mask_N}).flatten();
    expert_load += torch::bincount(counted.cpu(), {}, expert_load.size(0)).to(torch::kDouble);
  }
  auto out_ND = dispatch == MoeDispatch::kGrouped ? routed_grouped(x_ND, routing) : routed_loop(x_ND, routing);
  auto out = out_ND.to(x_ND.scalar_type());
  if (shared_experts) out = out + shared_experts(x_ND);
  return out.view(x_BTD.sizes());
}

torch::Tensor MoeImpl::routed_grouped(const torch::Tensor& x_ND, const Routing& routing) {
  const int64_t N = x_ND.size(0), D = x_ND.size(1), E = static_cast<int64_t>(experts->size());
  const auto flat_idx = routing.topk_idx_NK.flatten();                       // [N·K], assignment n·K + k
  const auto order = flat_idx.argsort(/*stable=*/true);                       // by expert, then token
  const auto token = order.div(top_k, "floor");                               // [N·K] token of each
  const auto counts = torch::bincount(flat_idx, {}, E).cpu();                 // the layer's one host sync
  std::vector<int64_t> sizes(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + E);
  const auto parts = x_ND.index_select(0, token).split_with_sizes(sizes);      // one gather, E views
  std::vector<torch::Tensor> outputs;
  outputs.reserve(E);
  for (int64_t e = 0; e < E; ++e)
    if (sizes[e] > 0) outputs.push_back(experts[e]->as<MlpImpl>()->forward(parts[e]));
  auto out_ND = torch::zeros({N, D}, x_ND.options().dtype(torch::kFloat));  // fp32 combine, as HF
  if (outputs.empty()) return out_ND;                                          // no tokens
  const auto w_M1 = routing.topk_weight_NK.flatten().index_select(0, order).unsqueeze(1);
  const auto y_MD = torch::cat(outputs).to(torch::kFloat) * w_M1;
  // index_add walks the assignments in order, so each token adds its experts in id order, as the loop does
  return out_ND.index_add_(0, token, y_MD);
}

torch::Tensor MoeImpl::routed_loop(const torch::Tensor& x_ND, const Routing& routing) {
  auto out_ND = torch::zeros({x_ND.size(0), x_ND.size(1)}, x_ND.options().dtype(torch::kFloat));
  for (int64_t e = 0; e < static_cast<int64_t>(experts->size()); ++e) {
    auto hit = (routing.topk_idx_NK == e).nonzero();  // [M, 2]: (token, slot)
    if (hit.size(0) == 0) continue;
    auto token = hit.select(1, 0), slot = hit.select(1, 1);
    auto w_M1 = routing.topk_weight_NK.index({token, slot}).unsqueeze(1);
    auto y_MD = experts[e]->as<MlpImpl>()->forward(x_ND.index_select(0, token));
    out_ND.index_add_(0, token, y_MD.to(torch::kFloat) * w_M1);
  }
  return out_ND;
}

}  // namespace aha::policy
