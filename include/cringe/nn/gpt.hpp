// cringe/nn/gpt.hpp - a GPT-2-style decoder-only transformer, templated on the scalar type.
//
// Shapes (B batch, T sequence, C = n_embd, H = n_head, D = C/H, V = vocab_size):
//   tokens [B,T] -> x = wte[tokens] + wpe[0:T]                                   [B,T,C]
//   N blocks, pre-LayerNorm, residual:
//     x = x + Attention(ln_1(x))       qkv = a W_attn + b  [B,T,3C] -> q,k,v [B,H,T,D]
//                                      att = softmax(causal(q k^T / sqrt(D)))   [B,H,T,T]
//                                      y = (att v) merged to [B,T,C]; out = y W_proj + b
//     x = x + MLP(ln_2(x))             gelu_tanh(m W_fc + b) W_proj + b         (4C hidden)
//   logits = ln_f(x) wte^T                                                       [B,T,V]
// The LM head is tied to the token embedding: wte receives gradient from both its uses (the
// embedding lookup and the output projection), accumulated in one Parameter.
// Weights use GPT-2's Conv1D orientation [in, out] (y = x W + b), so Hugging Face checkpoints load
// without transposes, under the same names (transformer.h.{i}.attn.c_attn.weight, ...).
//
// How backward flows through attention: see docs/transformer.md. Attention runs, by default, as one
// fused op of cringe/kernels (kernels/attention.hpp: the same numbers, bit for bit, without the head
// split's copies); set_attention_path(AttentionPath::reference) composes it from the ops of cringe/ops
// instead, each with its own gradient check, as the code below spells out (docs/kernels.md). Likewise
// each residual addition with the layer norm that reads it runs as one kernel by default
// (kernels/residual_layer_norm.hpp), and so does the MLP's bias with its GELU (kernels/bias_gelu.hpp);
// set_kernel_path(KernelPath::reference) composes them from add, layer_norm and gelu. The whole model
// is also gradchecked (tests/nn).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "../kernels/attention.hpp"
#include "../kernels/bias_gelu.hpp"
#include "../kernels/residual_layer_norm.hpp"
#include "../ops/ops.hpp"
#include "../rng.hpp"
#include "gpt_config.hpp"

namespace cringe::nn {

/// How a Gpt computes attention (docs/kernels.md): both give the same values and gradients.
enum class AttentionPath {
    fused,      ///< one op, kernels::causal_self_attention (the default: fewer nodes, no head copies)
    reference,  ///< composed from the reference ops: slice, permute, matmul, affine, masked_fill, softmax, dropout
};

/// How a Gpt computes each residual addition + the layer norm that reads it (docs/kernels.md): both
/// give the same values and gradients. Attention has its own switch, AttentionPath.
enum class KernelPath {
    fused,      ///< kernels::residual_layer_norm and kernels::bias_gelu (the default: fewer passes, fewer exp)
    reference,  ///< composed from the reference ops: add, then layer_norm; add, then gelu
};

/// A GPT-2 language model on the tape, with Hugging Face's parameter names.
template <class T>
class Gpt {
public:
    /// The scalar type.
    using scalar_type = T;

    /// A freshly initialised model (GPT-2 initialisation, seeded).
    Gpt(const GptConfig& config, std::uint64_t seed) : config_(config) {
        config_.validate();
        register_parameters();
        initialise(seed);
    }

    /// A model whose parameters are all zero (for loading a checkpoint into).
    explicit Gpt(const GptConfig& config) : config_(config) {
        config_.validate();
        register_parameters();
    }

    /// The hyper-parameters.
    const GptConfig& config() const { return config_; }

    /// How attention is computed from now on; not part of the config or of a checkpoint.
    void set_attention_path(AttentionPath path) { attention_path_ = path; }
    /// How attention is computed (AttentionPath::fused unless set_attention_path changed it).
    AttentionPath attention_path() const { return attention_path_; }
    /// How the residual additions + layer norms are computed from now on; not part of the config or of
    /// a checkpoint.
    void set_kernel_path(KernelPath path) { kernel_path_ = path; }
    /// How they are computed (KernelPath::fused unless set_kernel_path changed it).
    KernelPath kernel_path() const { return kernel_path_; }
    /// How many threads the fused attention splits its heads over (1 unless changed; the results are the
    /// same for every count). ValueError for 0.
    void set_attention_threads(std::size_t threads) {
        if (threads == 0) throw ValueError("Gpt::set_attention_threads: threads is 0; expected at least 1");
        attention_threads_ = threads;
    }
    /// How many threads the fused attention uses.
    std::size_t attention_threads() const { return attention_threads_; }

    /// Every parameter, in a stable order (the Hugging Face names, layer by layer).
    std::vector<Parameter<T>>& parameters() { return params_; }
    /// The same list, read-only.
    const std::vector<Parameter<T>>& parameters() const { return params_; }

    /// The parameter with this Hugging Face name; ValueError if there is none.
    Parameter<T>& parameter(const std::string& name) {
        for (auto& p : params_)
            if (p.name == name) return p;
        throw ValueError(cat("Gpt: no parameter named '", name, "'"));
    }

    /// The number of scalars in all parameters.
    std::size_t parameter_count() const {
        std::size_t n = 0;
        for (const auto& p : params_) n += p.value.size();
        return n;
    }

    /// Zeroes every parameter's gradient.
    void zero_grad() {
        for (auto& p : params_) p.zero_grad();
    }

    /// Checks a token batch: rank 2, T <= n_positions, every id in [0, V).
    void check_tokens(const IdTensor& tokens) const {
        if (tokens.dimension() != 2 || tokens.shape()[1] == 0)
            throw ShapeError(cat("Gpt::forward: tokens have shape ", shape_str(tokens.shape()), "; expected [B,T] with T >= 1"));
        if (tokens.shape()[1] > config_.n_positions)
            throw ValueError(cat("Gpt::forward: sequence length ", tokens.shape()[1], " exceeds n_positions = ",
                                 config_.n_positions, "; expected T <= n_positions"));
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            const auto id = tokens.data()[i];
            if (id < 0 || static_cast<std::size_t>(id) >= config_.vocab_size)
                throw ValueError(cat("Gpt::forward: token id ", id, " at [", i / tokens.shape()[1], "][", i % tokens.shape()[1],
                                     "] is out of range; expected 0 <= id < vocab_size = ", config_.vocab_size));
        }
    }

    /// Logits [B,T,V] for tokens [B,T]. Dropout applies only when training and dropout > 0 (then
    /// `rng` must be given). Gradients accumulate into the Parameters.
    Var<T> forward(Tape<T>& tape, const IdTensor& tokens, bool training = false, Rng* rng = nullptr) {
        return forward_impl(tape, tokens, training, rng, [&](std::size_t i) { return tape.parameter(params_[i]); });
    }

    /// The same forward pass with the weights given as tape variables, in parameters() order.
    /// This is how the whole model is gradient-checked: gradcheck owns the inputs.
    Var<T> forward_with(Tape<T>& tape, const IdTensor& tokens, const std::vector<Var<T>>& weights) {
        if (weights.size() != params_.size())
            throw ValueError(cat("Gpt::forward_with: ", weights.size(), " weights given; expected ", params_.size()));
        for (std::size_t i = 0; i < weights.size(); ++i)
            if (weights[i].shape() != to_shape(params_[i].value.shape()))
                throw ShapeError(cat("Gpt::forward_with: weight ", i, " (", params_[i].name, ") has shape ",
                                     shape_str(weights[i].shape()), "; expected ", shape_str(params_[i].value.shape())));
        return forward_impl(tape, tokens, false, nullptr, [&](std::size_t i) { return weights[i]; });
    }

    /// [T,T] mask, true above the diagonal: position t may not attend to positions after t.
    static Mask causal_mask(std::size_t n) {
        Mask mask = Mask::from_shape({n, n});
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) mask(i, j) = j > i;
        return mask;
    }

private:
    struct Block {
        std::size_t ln_1_w, ln_1_b, attn_w, attn_b, attn_proj_w, attn_proj_b, ln_2_w, ln_2_b, fc_w, fc_b, mlp_proj_w, mlp_proj_b;
    };

    std::size_t add(const std::string& name, const Shape& shape) {
        params_.emplace_back(name, zeros<T>(shape));
        return params_.size() - 1;
    }

    void register_parameters() {
        const std::size_t C = config_.n_embd, V = config_.vocab_size, P = config_.n_positions;
        params_.reserve(4 + 12 * config_.n_layer);  // addresses stay stable: the tape points at them
        wte_ = add("transformer.wte.weight", {V, C});
        wpe_ = add("transformer.wpe.weight", {P, C});
        for (std::size_t i = 0; i < config_.n_layer; ++i) {
            const std::string h = "transformer.h." + std::to_string(i) + ".";
            Block b{};
            b.ln_1_w = add(h + "ln_1.weight", {C});
            b.ln_1_b = add(h + "ln_1.bias", {C});
            b.attn_w = add(h + "attn.c_attn.weight", {C, 3 * C});
            b.attn_b = add(h + "attn.c_attn.bias", {3 * C});
            b.attn_proj_w = add(h + "attn.c_proj.weight", {C, C});
            b.attn_proj_b = add(h + "attn.c_proj.bias", {C});
            b.ln_2_w = add(h + "ln_2.weight", {C});
            b.ln_2_b = add(h + "ln_2.bias", {C});
            b.fc_w = add(h + "mlp.c_fc.weight", {C, 4 * C});
            b.fc_b = add(h + "mlp.c_fc.bias", {4 * C});
            b.mlp_proj_w = add(h + "mlp.c_proj.weight", {4 * C, C});
            b.mlp_proj_b = add(h + "mlp.c_proj.bias", {C});
            blocks_.push_back(b);
        }
        lnf_w_ = add("transformer.ln_f.weight", {C});
        lnf_b_ = add("transformer.ln_f.bias", {C});
    }

    /// GPT-2: weights N(0, 0.02); the projections that write into the residual stream N(0, 0.02 /
    /// sqrt(2 n_layer)) so the residual's variance does not grow with depth; biases 0; LayerNorm 1, 0.
    void initialise(std::uint64_t seed) {
        Rng rng(seed);
        const double residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(config_.n_layer));
        auto normal = [&](std::size_t i, double std) {
            for (auto& v : params_[i].value) v = T(rng.normal(0.0, std));
        };
        normal(wte_, 0.02);
        normal(wpe_, 0.02);
        for (const Block& b : blocks_) {
            params_[b.ln_1_w].value.fill(T(1));
            params_[b.ln_2_w].value.fill(T(1));
            normal(b.attn_w, 0.02);
            normal(b.attn_proj_w, residual_std);
            normal(b.fc_w, 0.02);
            normal(b.mlp_proj_w, residual_std);
        }
        params_[lnf_w_].value.fill(T(1));
    }

    template <class Weight>
    Var<T> forward_impl(Tape<T>&, const IdTensor& tokens, bool training, Rng* rng, Weight weight) {
        check_tokens(tokens);
        const double p_drop = training ? config_.dropout : 0.0;
        if (p_drop > 0.0 && rng == nullptr) throw ValueError("Gpt::forward: training with dropout needs an Rng");
        const std::size_t Tn = tokens.shape()[1];
        Rng no_rng;
        Rng& drop_rng = rng ? *rng : no_rng;
        // Named ops, not operators, in this function: a node records the line that called its op (anomaly
        // messages name it), and an operator such as x + y cannot take that line as a default argument,
        // so a node it makes would name ops/binary.hpp instead of the line here.
        auto linear = [&](const Var<T>& x, std::size_t w, std::size_t b) { return cringe::add(matmul(x, weight(w)), weight(b)); };

        IdTensor positions = IdTensor::from_shape({Tn});
        for (std::size_t t = 0; t < Tn; ++t) positions(t) = static_cast<std::int64_t>(t);
        Var<T> wte = weight(wte_);
        Var<T> x = cringe::add(embedding(wte, tokens), embedding(weight(wpe_), positions));  // [B,T,C] + [T,C]
        x = dropout(x, p_drop, drop_rng, training);

        const Mask causal = causal_mask(Tn);
        const std::size_t B = tokens.shape()[0], C = config_.n_embd, H = config_.n_head, D = config_.head_dim();
        const bool fused = kernel_path_ == KernelPath::fused;
        // x = x + delta, then the layer norm (weight w, bias b) that reads the new x: {x, layer_norm(x)}.
        auto residual_norm = [&](const Var<T>& residual, const Var<T>& delta, std::size_t w, std::size_t b) {
            if (fused) return kernels::residual_layer_norm(residual, delta, weight(w), weight(b), config_.layer_norm_epsilon);
            Var<T> sum = cringe::add(residual, delta);
            return kernels::ResidualNorm<T>{sum, layer_norm(sum, weight(w), weight(b), config_.layer_norm_epsilon)};
        };
        // The first block's ln_1 reads the embeddings; every later layer norm reads a residual addition
        // (the previous sub-layer's), computed with it by residual_norm.
        Var<T> a = layer_norm(x, weight(blocks_.front().ln_1_w), weight(blocks_.front().ln_1_b), config_.layer_norm_epsilon);
        for (std::size_t layer = 0; layer < blocks_.size(); ++layer) {
            const Block& blk = blocks_[layer];
            // attention sub-layer: a = ln_1(x)
            Var<T> qkv = linear(a, blk.attn_w, blk.attn_b);  // [B,T,3C]
            Var<T> y;                                        // the heads' outputs, merged: [B,T,C]
            if (attention_path_ == AttentionPath::fused) {
                y = kernels::causal_self_attention(qkv, H, p_drop, drop_rng, training, attention_threads_);
            } else {
                auto heads = [&](std::size_t which) {  // columns of q, k or v -> [B,H,T,D]
                    return permute(reshape(slice(qkv, -1, which * C, (which + 1) * C), {B, Tn, H, D}), {0, 2, 1, 3});
                };
                Var<T> q = heads(0), k = heads(1), v = heads(2);
                Var<T> scores = affine(matmul(q, k, /*b_transposed=*/true), T(1.0 / std::sqrt(static_cast<double>(D))), T(0));  // [B,H,T,T]
                Var<T> att = dropout(softmax(masked_fill(scores, causal, T(-1e9))), p_drop, drop_rng, training);
                y = reshape(permute(matmul(att, v), {0, 2, 1, 3}), {B, Tn, C});  // merge the heads
            }
            // x = x + attention's output; m = ln_2(x)
            auto [x_mid, m] = residual_norm(x, dropout(linear(y, blk.attn_proj_w, blk.attn_proj_b), p_drop, drop_rng, training),
                                            blk.ln_2_w, blk.ln_2_b);
            // MLP sub-layer: h = gelu(m W_fc + b_fc)  [B,T,4C]; kernels::bias_gelu is the same bits in one
            // node, with GELU's exp once per element in its backward instead of twice (docs/kernels.md).
            Var<T> h = fused ? kernels::bias_gelu(matmul(m, weight(blk.fc_w)), weight(blk.fc_b)) : gelu(linear(m, blk.fc_w, blk.fc_b));
            // x = x + the MLP's output; a = the next block's ln_1(x), or ln_f(x) after the last block
            const bool last = layer + 1 == blocks_.size();
            auto [x_next, a_next] = residual_norm(x_mid, dropout(linear(h, blk.mlp_proj_w, blk.mlp_proj_b), p_drop, drop_rng, training),
                                                  last ? lnf_w_ : blocks_[layer + 1].ln_1_w, last ? lnf_b_ : blocks_[layer + 1].ln_1_b);
            x = x_next;
            a = a_next;
        }
        return matmul(a, wte, /*b_transposed=*/true);  // tied LM head: logits = ln_f(x) wte^T
    }

    GptConfig config_;
    std::vector<Parameter<T>> params_;
    std::vector<Block> blocks_;
    std::size_t wte_ = 0, wpe_ = 0, lnf_w_ = 0, lnf_b_ = 0;
    AttentionPath attention_path_ = AttentionPath::fused;
    KernelPath kernel_path_ = KernelPath::fused;
    std::size_t attention_threads_ = 1;
};

}  // namespace cringe::nn
