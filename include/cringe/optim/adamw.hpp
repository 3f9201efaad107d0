// cringe/optim/adamw.hpp - Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW.
//
// Step t (from 1), per parameter with gradient g:
//   w <- w - lr * wd * w                       decoupled decay (only tensors of rank >= 2: matrices
//                                              and embeddings; never biases or LayerNorm, as nanoGPT)
//   m <- b1 m + (1 - b1) g                     first moment
//   v <- b2 v + (1 - b2) g^2                   second moment
//   w <- w - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
#pragma once

#include <cmath>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "../tape.hpp"

namespace cringe::optim {

/// AdamW (decoupled weight decay) over a list of parameters; decay only on tensors of rank >= 2.
template <class T>
class AdamW {
public:
    /// Hyper-parameters.
    struct Options {
        /// Learning rate.
        double lr = 1e-3;
        double beta1 = 0.9;    ///< decay rate of the first moment estimate
        double beta2 = 0.999;  ///< decay rate of the second moment estimate
        /// Added to the root of the second moment.
        double eps = 1e-8;
        /// Decoupled weight decay per unit of learning rate.
        double weight_decay = 0.01;
    };

    /// An optimiser for `params`; ValueError for an option out of range.
    AdamW(std::vector<Parameter<T>*> params, Options options) : params_(std::move(params)), options_(options) {
        if (!(options_.lr >= 0.0)) throw ValueError(cat("AdamW: lr is ", options_.lr, "; expected >= 0"));
        if (!(options_.beta1 >= 0.0 && options_.beta1 < 1.0)) throw ValueError(cat("AdamW: beta1 is ", options_.beta1, "; expected 0 <= beta1 < 1"));
        if (!(options_.beta2 >= 0.0 && options_.beta2 < 1.0)) throw ValueError(cat("AdamW: beta2 is ", options_.beta2, "; expected 0 <= beta2 < 1"));
        if (!(options_.eps > 0.0)) throw ValueError(cat("AdamW: eps is ", options_.eps, "; expected > 0"));
        if (!(options_.weight_decay >= 0.0)) throw ValueError(cat("AdamW: weight_decay is ", options_.weight_decay, "; expected >= 0"));
        for (auto* p : params_) {
            m_.push_back(zeros<T>(to_shape(p->value.shape())));
            v_.push_back(zeros<T>(to_shape(p->value.shape())));
            decays_.push_back(p->value.dimension() >= 2);
        }
    }

    /// Sets the learning rate (schedules call this every step).
    void set_lr(double lr) { options_.lr = lr; }
    /// The current learning rate.
    double lr() const { return options_.lr; }
    /// Steps taken so far (the bias correction's t).
    std::size_t steps_taken() const { return t_; }

    /// "decayed: 10 tensors (8192 scalars); not decayed: 14 tensors (800 scalars)" - the split.
    std::string decay_split() const {
        std::size_t nd = 0, nn = 0, sd = 0, sn = 0;
        for (std::size_t i = 0; i < params_.size(); ++i) {
            (decays_[i] ? nd : nn) += 1;
            (decays_[i] ? sd : sn) += params_[i]->value.size();
        }
        return cat("weight decay on ", nd, " tensors (", sd, " scalars), none on ", nn, " tensors (", sn, " scalars)");
    }

    /// One update from the parameters' gradients.
    void step() {
        ++t_;
        const T lr = static_cast<T>(options_.lr), b1 = static_cast<T>(options_.beta1),
                b2 = static_cast<T>(options_.beta2), eps = static_cast<T>(options_.eps);
        const T bias1 = T(1) - T(std::pow(options_.beta1, static_cast<double>(t_)));
        const T bias2 = T(1) - T(std::pow(options_.beta2, static_cast<double>(t_)));
        for (std::size_t i = 0; i < params_.size(); ++i) {
            auto w = flat(params_[i]->value);
            const auto g = flat(std::as_const(params_[i]->grad));
            auto m = flat(m_[i]);
            auto v = flat(v_[i]);
            if (decays_[i] && options_.weight_decay > 0.0) w *= T(1) - lr * T(options_.weight_decay);
            m = b1 * m + (T(1) - b1) * g;
            v = b2 * v + (T(1) - b2) * g.square();
            w -= lr * (m / bias1) / ((v / bias2).sqrt() + eps);
        }
    }

    /// Zeroes every parameter's gradient.
    void zero_grad() {
        for (auto* p : params_) p->zero_grad();
    }

    /// The hyper-parameters (the learning rate as last set).
    const Options& options() const { return options_; }
    /// The parameters this optimiser updates, in order.
    const std::vector<Parameter<T>*>& parameters() const { return params_; }
    /// The first moment estimates, one per parameter (what a training state saves).
    const std::vector<Tensor<T>>& first_moments() const { return m_; }
    /// The second moment estimates, one per parameter.
    const std::vector<Tensor<T>>& second_moments() const { return v_; }

    /// Resumes from a saved state: replaces the moments and the step count IN PLACE, on the same
    /// parameters (the optimiser keeps pointing at the model it was built on; loading a training
    /// state fills the model's weights and this optimiser, and replaces neither). Everything is
    /// checked before anything changes: ValueError for another number of moments, ShapeError for a
    /// moment whose shape is not its parameter's, ValueError for a second moment that is negative or
    /// not finite, or a first moment that is not finite (either would make every later update NaN).
    void load_state(std::vector<Tensor<T>> first, std::vector<Tensor<T>> second, std::size_t steps_taken) {
        const char* who = "AdamW::load_state";
        for (const auto* moments : {&first, &second}) {
            const char* field = moments == &first ? "first moments" : "second moments";
            if (moments->size() != params_.size())
                throw ValueError(cat(who, ": ", moments->size(), " ", field, "; expected ", params_.size(), " (one per parameter)"));
            for (std::size_t i = 0; i < params_.size(); ++i) {
                const Tensor<T>& moment = (*moments)[i];
                if (moment.shape() != params_[i]->value.shape())
                    throw ShapeError(cat(who, ": ", field, "[", i, "] (", params_[i]->name, ") has shape ", shape_str(moment.shape()),
                                         "; expected ", shape_str(params_[i]->value.shape()), ", its parameter's"));
                for (std::size_t k = 0; k < moment.size(); ++k) {
                    const T x = moment.data()[k];
                    // A second moment is a running mean of squares: a negative one makes sqrt(v) NaN.
                    const bool ok = moments == &first ? std::isfinite(x) : (std::isfinite(x) && x >= T(0));
                    if (!ok)
                        throw ValueError(cat(who, ": ", field, "[", i, "] (", params_[i]->name, ") element ", k, " is ", x,
                                             moments == &first ? "; expected a finite number" : "; expected a finite second moment >= 0"));
                }
            }
        }
        m_ = std::move(first);
        v_ = std::move(second);
        t_ = steps_taken;
    }

private:
    std::vector<Parameter<T>*> params_;
    Options options_;
    std::vector<Tensor<T>> m_, v_;
    std::vector<bool> decays_;
    std::size_t t_ = 0;
};

}  // namespace cringe::optim
