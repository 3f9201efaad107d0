// cringe/optim/sgd.hpp - stochastic gradient descent with (heavy-ball) momentum, as PyTorch's SGD.
//
//   v <- momentum * v + g          (v starts at g on the first step)
//   w <- w - lr * v
#pragma once

#include <vector>

#include "../tape.hpp"

namespace cringe::optim {

/// Stochastic gradient descent with optional momentum.
template <class T>
class Sgd {
public:
    /// Hyper-parameters.
    struct Options {
        /// Learning rate.
        double lr = 1e-2;
        /// Momentum (0: plain SGD).
        double momentum = 0.0;
    };

    /// An optimiser for `params`; ValueError for an option out of range.
    Sgd(std::vector<Parameter<T>*> params, Options options) : params_(std::move(params)), options_(options) {
        if (!(options_.lr >= 0.0)) throw ValueError(cat("Sgd: lr is ", options_.lr, "; expected >= 0"));
        if (!(options_.momentum >= 0.0 && options_.momentum < 1.0))
            throw ValueError(cat("Sgd: momentum is ", options_.momentum, "; expected 0 <= momentum < 1"));
        velocity_.resize(params_.size());
    }

    /// Sets the learning rate.
    void set_lr(double lr) { options_.lr = lr; }
    /// The current learning rate.
    double lr() const { return options_.lr; }

    /// One update from the parameters' gradients.
    void step() {
        for (std::size_t i = 0; i < params_.size(); ++i) {
            Parameter<T>& p = *params_[i];
            if (options_.momentum > 0.0) {
                if (velocity_[i].size() != p.grad.size()) velocity_[i] = p.grad;  // first step: v = g
                else flat(velocity_[i]) = T(options_.momentum) * flat(velocity_[i]) + flat(p.grad);
                flat(p.value) -= T(options_.lr) * flat(velocity_[i]);
            } else {
                flat(p.value) -= T(options_.lr) * flat(p.grad);
            }
        }
    }

    /// Zeroes every parameter's gradient.
    void zero_grad() {
        for (auto* p : params_) p->zero_grad();
    }

private:
    std::vector<Parameter<T>*> params_;
    Options options_;
    std::vector<Tensor<T>> velocity_;
};

}  // namespace cringe::optim
