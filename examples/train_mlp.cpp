// examples/train_mlp.cpp - a teacher's MLP trained by the library's loop (built and run as a test).
//
// Task: learn y = sin(x) on [-pi, pi] from 64 points. Model: nn::Mlp 1 -> 16 -> 16 -> 1 with tanh.
// Loss: mean squared error, written with ops. Loop, AdamW and the warm-up + cosine schedule:
// train::train, the same loop that trains the GPT (docs/training.md). Exit status 1 if it did not learn.
#include <cringe/cringe.hpp>
#include <cmath>
#include <cstdio>
#include <numbers>
using namespace cringe;

// Any struct with `inputs` (what forward reads) is a batch; the loss reads the rest.
struct Batch {
    Tensor<double> inputs;   // [N, 1]
    Tensor<double> targets;  // [N, 1]
};

int main() {
    const std::size_t n = 64;
    Batch data{zeros<double>({n, 1}), zeros<double>({n, 1})};
    for (std::size_t i = 0; i < n; ++i) {
        const double x = -std::numbers::pi + 2 * std::numbers::pi * static_cast<double>(i) / (n - 1);
        data.inputs(i, 0) = x;
        data.targets(i, 0) = std::sin(x);
    }

    Rng rng(7);
    nn::Mlp<double> model({1, 16, 16, 1}, rng, nn::Activation::tanh);  // Xavier-uniform weights

    auto mse = [](const Var<double>& prediction, const Batch& batch) {
        const Var<double> error = prediction - prediction.tape().constant(batch.targets);
        return mean(error * error);
    };
    const auto log = train::train(model, mse, [&](std::size_t) { return data; },
                                  {.steps = 1500, .lr = 1e-2, .warmup = 50, .weight_decay = 0.0, .label = "mlp"});

    std::printf("mse %.4f at step 1, %.6f at step %zu\n", log.losses.front(), log.losses.back(), log.losses.size());
    // A fixed seed gives the same run everywhere, so this threshold is met every time (measured: see docs).
    if (!(log.losses.back() < 1e-3)) {
        std::printf("did not learn: final loss %.6f, expected < 1e-3\n", log.losses.back());
        return 1;
    }
}
