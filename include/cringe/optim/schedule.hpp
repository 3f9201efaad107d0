// cringe/optim/schedule.hpp - learning-rate schedule: linear warm-up, then cosine decay.
//
//   step < warmup:            lr = peak * (step + 1) / warmup
//   warmup <= step < total:   lr = floor + (peak - floor) * (1 + cos(pi * progress)) / 2,
//                             progress = (step - warmup) / (total - warmup)
//   step >= total:            lr = floor
#pragma once

#include <cmath>
#include <numbers>

#include "../error.hpp"

namespace cringe::optim {

/// Linear warmup to peak_lr, then cosine decay to min_lr at total_steps.
struct WarmupCosine {
    /// Learning rate at the end of the warmup.
    double peak_lr = 1e-3;
    /// Learning rate at total_steps and after.
    double min_lr = 0.0;
    /// Steps of linear warmup from 0.
    std::size_t warmup_steps = 0;
    /// Steps of the whole schedule.
    std::size_t total_steps = 1;

    /// ValueError for a setting out of range.
    void validate() const {
        if (total_steps == 0 || warmup_steps > total_steps)
            throw ValueError(cat("WarmupCosine: warmup_steps ", warmup_steps, " and total_steps ", total_steps,
                                 "; expected 0 <= warmup_steps <= total_steps and total_steps >= 1"));
        if (!(peak_lr >= min_lr && min_lr >= 0.0))
            throw ValueError(cat("WarmupCosine: peak_lr ", peak_lr, ", min_lr ", min_lr, "; expected peak_lr >= min_lr >= 0"));
    }

    /// The learning rate at `step` (0-based).
    double operator()(std::size_t step) const {
        if (step < warmup_steps) return peak_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
        if (step >= total_steps) return min_lr;
        const double span = static_cast<double>(total_steps - warmup_steps);
        const double progress = span > 0 ? static_cast<double>(step - warmup_steps) / span : 1.0;
        return min_lr + (peak_lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    }
};

}  // namespace cringe::optim
