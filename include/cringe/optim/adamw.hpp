// cringe/optim/adamw.hpp - Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW.
//
// Step t (from 1), per parameter with gradient g:
//   w <- w - lr * wd * w                       decoupled decay (only tensors of rank >= 2: matrices
//                                              and embeddings; never biases or LayerNorm, as nanoGPT)
//   m <- b1 m + (1 - b1) g                     first moment
//   v <- b2 v + (1 - b2) g^2                   second moment
//   w <- w - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//
// Memory: the moments of ALL parameters live in one flat buffer each (m and v), parameter i's moments
// in one 64-byte aligned segment of it, and one step is one pass over memory: the four lines above run
// on a block of kBlock elements (w, g, m and v of a block stay in the L1 cache) before the next block,
// instead of four passes over every tensor. Per element the arithmetic and its order are those of the
// four lines, and every block starts on a 64-byte boundary, so Eigen takes the same SIMD or scalar path
// for each element as for whole tensors: the bits are those of four whole-tensor passes
// (tests/optim/test_optim.cpp checks it). The parameters and gradients themselves stay in the model's
// tensors: each Parameter owns its Tensor (docs/training.md, "AdamW").
#pragma once

#include <algorithm>
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
        std::size_t total = 0;
        for (auto* p : params_) {
            offsets_.push_back(total);
            total += padded(p->value.size());
            sizes_.push_back(p->value.size());
            decays_.push_back(p->value.dimension() >= 2);
        }
        m_.assign(total, T(0));
        v_.assign(total, T(0));
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

    /// One update from the parameters' gradients. ShapeError, and nothing changes, when a parameter no
    /// longer has the size it had when the optimiser was built or its gradient is not of its shape.
    void step() {
        for (std::size_t i = 0; i < params_.size(); ++i) {
            const Parameter<T>& p = *params_[i];
            require_built_size(i, "AdamW::step");
            if (p.grad.shape() != p.value.shape())
                throw ShapeError(cat("AdamW::step: the gradient of ", p.name, " has shape ", shape_str(p.grad.shape()),
                                     "; expected ", shape_str(p.value.shape()), ", its value's"));
        }
        ++t_;
        const T lr = static_cast<T>(options_.lr), b1 = static_cast<T>(options_.beta1),
                b2 = static_cast<T>(options_.beta2), eps = static_cast<T>(options_.eps);
        const T bias1 = T(1) - T(std::pow(options_.beta1, static_cast<double>(t_)));
        const T bias2 = T(1) - T(std::pow(options_.beta2, static_cast<double>(t_)));
        for (std::size_t i = 0; i < params_.size(); ++i) {
            Parameter<T>& p = *params_[i];
            const bool decays = decays_[i] && options_.weight_decay > 0.0;
            for (std::size_t start = 0; start < p.value.size(); start += kBlock) {  // one block: the four lines
                const Eigen::Index n = static_cast<Eigen::Index>(std::min(kBlock, p.value.size() - start));
                ArrayMap<T> w(p.value.data() + start, n);
                const ConstArrayMap<T> g(std::as_const(p.grad).data() + start, n);
                ArrayMap<T> m(m_.data() + offsets_[i] + start, n);
                ArrayMap<T> v(v_.data() + offsets_[i] + start, n);
                if (decays) w *= T(1) - lr * T(options_.weight_decay);
                m = b1 * m + (T(1) - b1) * g;
                v = b2 * v + (T(1) - b2) * g.square();
                w -= lr * (m / bias1) / ((v / bias2).sqrt() + eps);
            }
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
    /// Parameter i's first moment estimate, a copy in its parameter's shape (what a training state saves);
    /// ValueError for i out of range, ShapeError for a parameter that changed size since.
    Tensor<T> first_moment(std::size_t i) const { return moment(m_, i, "first_moment"); }
    /// Parameter i's second moment estimate, a copy in its parameter's shape.
    Tensor<T> second_moment(std::size_t i) const { return moment(v_, i, "second_moment"); }
    /// Every first moment estimate, in parameters() order (copies).
    std::vector<Tensor<T>> first_moments() const { return moments(m_, "first_moments"); }
    /// Every second moment estimate, in parameters() order (copies).
    std::vector<Tensor<T>> second_moments() const { return moments(v_, "second_moments"); }

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
                require_built_size(i, who);
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
        for (std::size_t i = 0; i < params_.size(); ++i) {
            std::copy(first[i].begin(), first[i].end(), m_.begin() + static_cast<std::ptrdiff_t>(offsets_[i]));
            std::copy(second[i].begin(), second[i].end(), v_.begin() + static_cast<std::ptrdiff_t>(offsets_[i]));
        }
        t_ = steps_taken;
    }

private:
    /// Elements per block of a step: w, g, m and v of a block (32 KiB in double) stay in the L1 cache.
    /// A multiple of 16, so that every block starts 64 bytes after the last (see the file comment).
    static constexpr std::size_t kBlock = 1024;
    /// A segment's length rounded up to whole 64-byte lines, so that every segment starts aligned.
    static std::size_t padded(std::size_t n) {
        constexpr std::size_t per_line = 64 / sizeof(T);
        return (n + per_line - 1) / per_line * per_line;
    }
    /// ShapeError unless parameter i still has the size it had when the optimiser was built (else its
    /// moments' segment would not fit it).
    void require_built_size(std::size_t i, const std::string& who) const {
        const Parameter<T>& p = *params_[i];
        if (p.value.size() != sizes_[i])
            throw ShapeError(cat(who, ": ", p.name, " has shape ", shape_str(p.value.shape()), " (", p.value.size(), " elements); expected ",
                                 sizes_[i], " elements, as when the optimiser was built"));
    }
    Tensor<T> moment(const std::vector<T, AlignedAllocator<T>>& flat_moments, std::size_t i, const char* who) const {
        if (i >= params_.size()) throw ValueError(cat("AdamW::", who, ": parameter ", i, " of ", params_.size(), "; expected < ", params_.size()));
        require_built_size(i, cat("AdamW::", who));
        Tensor<T> out = Tensor<T>::from_shape(params_[i]->value.shape());
        const auto first = flat_moments.begin() + static_cast<std::ptrdiff_t>(offsets_[i]);
        std::copy(first, first + static_cast<std::ptrdiff_t>(out.size()), out.begin());
        return out;
    }
    std::vector<Tensor<T>> moments(const std::vector<T, AlignedAllocator<T>>& flat_moments, const char* who) const {
        std::vector<Tensor<T>> out;
        out.reserve(params_.size());
        for (std::size_t i = 0; i < params_.size(); ++i) out.push_back(moment(flat_moments, i, who));
        return out;
    }

    std::vector<Parameter<T>*> params_;
    Options options_;
    // The moments of every parameter, one flat buffer each: parameter i's are the sizes_[i] elements
    // from offsets_[i] (each segment padded to whole 64-byte lines).
    std::vector<T, AlignedAllocator<T>> m_, v_;
    std::vector<std::size_t> offsets_;
    std::vector<std::size_t> sizes_;  // each parameter's elements when the optimiser was built
    std::vector<bool> decays_;
    std::size_t t_ = 0;
};

}  // namespace cringe::optim
