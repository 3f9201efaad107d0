// cringe/loss/losses.hpp - every loss policy.
#pragma once

#include "cringe_loss.hpp"
#include "cross_entropy.hpp"
#include "pairwise_cringe.hpp"
#include "policy.hpp"
#include "sigmoid_only.hpp"
#include "unlikelihood.hpp"

namespace cringe::loss {
static_assert(LossPolicy<CrossEntropy<double>> && LossPolicy<Unlikelihood<double>> && LossPolicy<Cringe<double>> &&
              LossPolicy<PairwiseCringe<double>> && LossPolicy<SigmoidOnly<float>>);
}  // namespace cringe::loss
