// cringe/optim/clip.hpp - global-norm gradient clipping (torch.nn.utils.clip_grad_norm_).
//
//   n = sqrt(sum over all parameters of sum g^2);  if n > max_norm: g <- g * max_norm / (n + 1e-6)
#pragma once

#include <cmath>
#include <vector>

#include "../tape.hpp"

namespace cringe::optim {

/// Scales every gradient so that their joint L2 norm is at most max_norm; returns the norm before.
template <class T>
double clip_grad_norm(const std::vector<Parameter<T>*>& params, double max_norm) {
    if (!(max_norm > 0.0)) throw ValueError(cat("clip_grad_norm: max_norm is ", max_norm, "; expected > 0"));
    double total = 0.0;
    for (const auto* p : params) total += static_cast<double>(flat(p->grad).square().sum());
    const double norm = std::sqrt(total);
    if (norm > max_norm) {
        const T scale = static_cast<T>(max_norm / (norm + 1e-6));
        for (auto* p : params) flat(p->grad) *= scale;
    }
    return norm;
}

}  // namespace cringe::optim
