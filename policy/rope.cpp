// RoPE frequencies with YaRN, linear and Llama-3 scaling (spec §1.4.3; transformers'
// modeling_rope_utils), and the two rotation layouts.
#include "policy/rope.h"

#include <cmath>

namespace aha::policy {
namespace {

double yarn_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

// The dimension index at which a wavelength completes `num_rotations` turns over the original context.
double yarn_correction_dim(double num_rotations, int64_t dim, double base, int64_t original_max) {
  return (dim * std::log(original_max / (num_rotations * 2 * M_PI))) / (2 * std::log(base));
}

}  // namespace

Rope Rope::make(const ModelConfig& config) {
  const int64_t dim = config.rope_dim();
  const int64_t half = dim / 2;
  std::vector<float> inv(half);
  std::vector<double> base(half);
  for (int64_t j = 0; j < half; ++j) base[j] = 1.0 / std::pow(config.rope_theta, (2.0 * j) / dim);
  Rope rope;
  const RopeScaling& rs = config.rope_scaling;
  if (rs.type == RopeType::Yarn) {
    double low = std::floor(yarn_correction_dim(rs.beta_fast, dim, config.rope_theta, rs.original_max_position_embeddings));
    double high = std::ceil(yarn_correction_dim(rs.beta_slow, dim, config.rope_theta, rs.original_max_position_embeddings));
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(dim - 1));
    if (low == high) high += 0.001;
    for (int64_t j = 0; j < half; ++j) {
      double ramp = std::clamp((j - low) / (high - low), 0.0, 1.0);
      // ramp 0 keeps the original frequency (extrapolation), ramp 1 interpolates by `factor`
      inv[j] = static_cast<float>(base[j] / rs.factor * ramp + base[j] * (1.0 - ramp));
    }
    if (rs.mscale != 0.0 && rs.mscale_all_dim != 0.0)
      rope.attention_factor = yarn_mscale(rs.factor, rs.mscale) / yarn_mscale(rs.factor, rs.mscale_all_dim);
    else
      rope.attention_factor = yarn_mscale(rs.factor, 1.0);
  } else if (rs.type == RopeType::Linear) {  // positions / factor
    for (int64_t j = 0; j < half; ++j) inv[j] = static_cast<float>(base[j] / rs.factor);
  } else if (rs.type == RopeType::Llama3) {
    // Long wavelengths (beyond original context / low_freq_factor) are interpolated by `factor`, short
    // ones (below original context / high_freq_factor) kept, and the band between blended smoothly.
    const double context = static_cast<double>(rs.original_max_position_embeddings);
    const double low_freq_wavelen = context / rs.low_freq_factor, high_freq_wavelen = context / rs.high_freq_factor;
    for (int64_t j = 0; j < half; ++j) {
      const double wavelen = 2 * M_PI / base[j];
      double f = base[j];
      if (wavelen > low_freq_wavelen) {
        f = base[j] / rs.factor;
      } else if (wavelen >= high_freq_wavelen) {
        double smooth = (context / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        f = (1 - smooth) * base[j] / rs.factor + smooth * base[j];
      }
      inv[j] = static_cast<float>(f);
    }
  } else {
    for (int64_t j = 0; j < half; ++j) inv[j] = static_cast<float>(base[j]);
  }
  rope.inv_freq = torch::tensor(inv, torch::kFloat);
  return rope;
}

std::pair<torch::Tensor, torch::Tensor> Rope::angles(const torch::Tensor& positions) const {
  auto freqs = positions.to(torch::kFloat).unsqueeze(-1) * inv_freq.to(positions.device());  // [..., R/2]
  auto cos = freqs.cos(), sin = freqs.sin();
  if (attention_factor != 1.0) {
    cos = cos * attention_factor;
    sin = sin * attention_factor;
  }
  return {cos, sin};
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  auto pairs = x.to(torch::kFloat).unflatten(/*dim=*/-1, {x.size(-1) / 2, 2});  // [..., R/2, 2]
  auto x0 = pairs.select(-1, 0), x1 = pairs.select(-1, 1);
  auto rotated = torch::stack({x0 * cos - x1 * sin, x0 * sin + x1 * cos}, /*dim=*/-1);
  return rotated.flatten(/*start_dim=*/-2).to(x.scalar_type());
}

torch::Tensor apply_rope_half(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  auto xf = x.to(torch::kFloat);
  const int64_t half = x.size(-1) / 2;
  auto x0 = xf.narrow(/*dim=*/-1, 0, half), x1 = xf.narrow(/*dim=*/-1, half, half);
  return torch::cat({x0 * cos - x1 * sin, x1 * cos + x0 * sin}, /*dim=*/-1).to(x.scalar_type());
}

}  // namespace aha::policy
