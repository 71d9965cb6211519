// The grouped MoE dispatch (the default: tokens sorted by expert, one gather, one split, one scatter)
// against the naive loop over experts it replaced, which stays as the reference: the same layer output,
// the same routes, the same expert-load counts (so the same auxiliary-loss-free bias updates), and the
// same gradients for the input and every parameter, through one MoE layer and through a whole Transformer.
// Catches: assignments matched to the wrong combine weight (order vs flat index), a token taken from the
// wrong row (order / K), slices cut with another expert's count, an expert skipped when its neighbour has
// no tokens, and a dispatch that drops the replayed routes. Each moves some output by far more than the
// tolerance. Both walk every expert's rows in token order and add each token's experts in id order, so on
// CPU the forward (outputs, routes, loads) and the parameters' gradients agree bit for bit. The gradient
// w.r.t. the layer's input is summed in another order (the loop adds E full-size [N, D] gradients, one per
// expert's gather; grouped scatters the sorted rows once): measured 7.5e-8 of its largest entry in fp32
// and one bf16 ulp (4.9e-3) in bf16, held at 1e-6 and 1e-2; through the whole Transformer that moves the
// parameters' gradients by up to 4.2e-7, held at 1e-6.
#include <catch2/catch.hpp>

#include <vector>

#include "policy/moe.h"
#include "policy/transformer.h"
#include "tests/common/tiny_model.h"
#include "tests/common/token_batch.h"

using namespace aha;

namespace {


void set_dispatch(policy::Transformer& model, policy::MoeDispatch dispatch) {
  for (auto* moe : model->moe_layers()) moe->dispatch = dispatch;
}

std::vector<torch::Tensor> gradients(torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  for (auto& p : module.parameters()) {
    out.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    p.mutable_grad() = torch::Tensor();
  }
  return out;
}

// max |a - b| over max |a|: the two dispatches sum in other orders in a few places (below)
double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = a.abs().max().item<double>();
  const double d = (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
  return d / (scale > 0 ? scale : 1.0);
}

}  // namespace

TEST_CASE("grouped MoE dispatch equals the expert loop: output, routes, load and gradients of one layer") {
  auto dtype = GENERATE(torch::kFloat, torch::kBFloat16);
  const double tol = dtype == torch::kFloat ? 1e-6 : 1e-2;  // a few ulps: x's gradient sums in another order
  auto config = testing::tiny_config();
  config.n_routed_experts = 16;  // with 40 tokens × 2 some experts get none: the empty-slice path runs
  config.n_group = 4;
  torch::manual_seed(3);
  policy::Moe moe(config);
  for (auto& p : moe->parameters()) torch::nn::init::normal_(p, 0, 0.3);
  {
    torch::NoGradGuard no_grad;
    torch::nn::init::normal_(moe->gate->e_score_correction_bias, 0, 0.3);
  }
  moe->to(dtype);
  const auto x = torch::randn({4, 10, config.hidden_size}).to(dtype);
  const auto upstream = torch::randn({4, 10, config.hidden_size}).to(dtype);
  const auto count_mask = torch::rand({40}) < 0.7;

  auto run = [&](policy::MoeDispatch dispatch, torch::Tensor* routes, torch::Tensor* x_grad) {
    moe->dispatch = dispatch;
    moe->expert_load.zero_();
    auto xi = x.clone().requires_grad_(true);
    policy::MoeCall call;
    call.record_idx_NK = routes;
    call.count_mask_N = count_mask;
    auto y = moe(xi, call);
    (y.to(torch::kFloat) * upstream.to(torch::kFloat)).sum().backward();
    *x_grad = xi.grad().clone();
    return y.detach();
  };
  torch::Tensor routes_loop, routes_grouped, xg_loop, xg_grouped;
  const auto y_loop = run(policy::MoeDispatch::kLoop, &routes_loop, &xg_loop);
  const auto load_loop = moe->expert_load.clone();
  const auto grads_loop = gradients(*moe);
  const auto y_grouped = run(policy::MoeDispatch::kGrouped, &routes_grouped, &xg_grouped);
  const auto load_grouped = moe->expert_load.clone();
  const auto grads_grouped = gradients(*moe);

  REQUIRE((load_loop == 0).any().item<bool>());  // some expert had no counted token
  CHECK(torch::equal(routes_loop, routes_grouped));
  CHECK(torch::equal(load_loop, load_grouped));
  CHECK(torch::equal(y_loop, y_grouped));
  CHECK(rel_diff(xg_loop, xg_grouped) <= tol);
  REQUIRE(grads_loop.size() == grads_grouped.size());
  for (size_t i = 0; i < grads_loop.size(); ++i) CHECK(torch::equal(grads_loop[i], grads_grouped[i]));
  CHECK(grads_grouped.front().abs().sum().item<double>() > 0);  // the gate weight learns through the combine
}

TEST_CASE("grouped MoE dispatch equals the expert loop through a whole Transformer, with router replay") {
  auto config = testing::tiny_config();
  auto model = testing::seeded_model(config, 5);
  const auto [tokens, positions, targets] = testing::random_token_batch(config, 3, 12);

  auto run = [&](policy::MoeDispatch dispatch, const policy::RouteTrace* replay, policy::RouteTrace* record) {
    set_dispatch(model, dispatch);
    for (auto* moe : model->moe_layers()) moe->expert_load.zero_();
    policy::ForwardOptions options;
    options.replay = replay;
    options.record = record;
    options.count_mask_BT = torch::ones({3, 12}, torch::kBool);
    auto hidden = model->hidden_states(tokens, positions, options);
    auto logp = model->token_logprobs(hidden, targets, 1.0);
    logp.sum().backward();
    std::vector<torch::Tensor> loads;
    for (auto* moe : model->moe_layers()) loads.push_back(moe->expert_load.clone());
    return std::make_pair(logp.detach(), loads);
  };
  policy::RouteTrace routes_loop, routes_grouped;
  const auto [logp_loop, load_loop] = run(policy::MoeDispatch::kLoop, nullptr, &routes_loop);
  const auto grads_loop = gradients(*model);
  const auto [logp_grouped, load_grouped] = run(policy::MoeDispatch::kGrouped, nullptr, &routes_grouped);
  const auto grads_grouped = gradients(*model);
  CHECK(torch::equal(logp_loop, logp_grouped));
  REQUIRE(load_loop.size() == load_grouped.size());
  for (size_t l = 0; l < load_loop.size(); ++l) CHECK(torch::equal(load_loop[l], load_grouped[l]));
  REQUIRE(routes_loop.topk_idx.size() == 2);  // the two MoE layers
  for (size_t l = 0; l < routes_loop.topk_idx.size(); ++l)
    CHECK(torch::equal(routes_loop.topk_idx[l], routes_grouped.topk_idx[l]));
  for (size_t i = 0; i < grads_loop.size(); ++i) CHECK(rel_diff(grads_loop[i], grads_grouped[i]) <= 1e-6);

  // replaying other routes: both dispatches follow them, not the gate's own choice
  policy::RouteTrace shuffled;
  for (const auto& idx : routes_loop.topk_idx) shuffled.topk_idx.push_back(idx.roll(1, /*dims=*/0).contiguous());
  const auto [replay_loop, unused_l] = run(policy::MoeDispatch::kLoop, &shuffled, nullptr);
  gradients(*model);
  const auto [replay_grouped, unused_g] = run(policy::MoeDispatch::kGrouped, &shuffled, nullptr);
  gradients(*model);
  CHECK_FALSE(torch::equal(replay_loop, logp_loop));
  CHECK(torch::equal(replay_loop, replay_grouped));
}
