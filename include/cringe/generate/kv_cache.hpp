// cringe/generate/kv_cache.hpp - inference with a key/value cache: the GPT forward for new tokens only.
//
// Why. Decoding without a cache re-runs the model on the whole prefix at every step: producing N
// tokens after a prompt of P costs sum over steps of (P + step) positions of every layer. But in a
// causal model the keys and values of a position never change once computed (position t attends to
// positions <= t only), so each step only needs the new position's query, key and value, plus the
// keys and values of the earlier positions, kept per layer. That is this cache.
//
// What it computes. Exactly the function of nn::Gpt::forward (dropout off), for the new positions
// only, from the same parameters, with the same building blocks: LayerNorm as ops/layer_norm.hpp,
// GELU through ops/unary.hpp's Gelu::f, the softmax's shift and flushed exp from ops/softmax.hpp,
// Eigen products. No tape: plain buffers, nothing recorded, nothing differentiable. The reference
// semantics stay nn::Gpt; tests/generate/test_kv_cache.cpp checks this path against it.
//
// Shapes (R rows, n new tokens per row, L positions already cached, C = n_embd, H heads, D = C/H,
// P = n_positions, V = vocab_size):
//   x = wte[tokens] + wpe[L .. L+n)                                 [R*n, C]
//   per layer: qkv = ln_1(x) W_attn + b                             [R*n, 3C]
//              keys[l][r,h,L+i,:] = k,  values[l][r,h,L+i,:] = v    (cache [R,H,P,D] per layer)
//              per (r,h): S = q K[0:L+n]^T / sqrt(D)                [n, L+n]
//                         row i keeps columns j <= L+i (causal), softmax, y = S V[0:L+n]   [n, D]
//              x += y W_proj + b;  x += gelu(ln_2(x) W_fc + b) W_mlp + b
//   logits = ln_f(x at each row's last new position) wte^T          [R, V]
// Cost of a step with n = 1: the weight products of one position (a [R,C] x [C,.] GEMM instead of
// [R*(L+1),C] x [C,.]) and attention over L+1 cached keys instead of (L+1)^2 scores.
//
// Why not bitwise equal to the full forward: the reference multiplies [R*(L+1), C] matrices, this
// path [R*n, C] ones; Eigen (or OpenBLAS) sums each dot product in an order that depends on the
// matrix sizes (blocking, vector width, the one-row GEMV path), so results agree to rounding, not
// to the bit. The tests state the tolerance and why.
//
// Beam search reorders hypotheses every step: reorder(parents) makes row i a copy of old row
// parents[i] (rows may be duplicated, dropped, or the row count may change).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../nn/gpt.hpp"

namespace cringe::generate {

/// The GPT forward for new tokens only, over a per-layer key/value cache of the earlier positions
/// (inference only: no tape, no gradients). The model must outlive the cache and keep its weights
/// while the cache is used (its parameter buffers are read at every append).
template <class T>
class KvCache {
public:
    /// An empty cache for `rows` sequences decoded side by side with `model`. Allocates the keys
    /// and values of n_positions positions for every row and layer up front, as tensors: their
    /// buffers come from the recycled aligned buffers of the core (detail/buffer_cache.hpp), so a
    /// cache made for every generate() call takes no fresh pages, and they are not zero-filled
    /// (a position is written by append() before anything reads it).
    KvCache(const nn::Gpt<T>& model, std::size_t rows) : model_(&model), config_(model.config()), rows_(rows) {
        find_parameters();
        for (std::size_t l = 0; l < config_.n_layer; ++l) {
            keys_.push_back(layer_cache(rows_));
            values_.push_back(layer_cache(rows_));
        }
    }

    /// The number of sequences (rows) in the cache.
    std::size_t rows() const { return rows_; }
    /// The number of positions cached per row (the same for every row).
    std::size_t length() const { return length_; }

    /// Appends `tokens` (one equally long, non-empty list per row of n tokens) at the n positions
    /// that follow the cached ones, and returns the logits of each row's last new position, shape
    /// [rows, V]: the last-position logits of nn::Gpt::forward on the whole prefix so far.
    Tensor<T> append(const std::vector<Tokens>& tokens) {
        check_tokens(tokens);
        const std::size_t R = rows_, n = tokens.empty() ? 0 : tokens[0].size();
        const std::size_t C = config_.n_embd, M = R * n;
        Tensor<T> logits = Tensor<T>::from_shape({R, config_.vocab_size});
        if (R == 0) return logits;
        x_.resize(M * C);
        const T* wte = weight(wte_);
        const T* wpe = weight(wpe_);
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t i = 0; i < n; ++i) {  // token + position embedding, as Gpt::forward adds them
                const T* tok = wte + static_cast<std::size_t>(tokens[r][i]) * C;
                const T* pos = wpe + (length_ + i) * C;
                T* out = x_.data() + (r * n + i) * C;
                for (std::size_t c = 0; c < C; ++c) out[c] = tok[c] + pos[c];
            }
        for (std::size_t l = 0; l < config_.n_layer; ++l) layer(l, n);
        length_ += n;
        // final LayerNorm of each row's last new position, then the tied LM head: logits = x wte^T
        normed_.resize(R * C);
        for (std::size_t r = 0; r < R; ++r)
            layer_norm_rows(x_.data() + (r * n + n - 1) * C, normed_.data() + r * C, 1, lnf_w_, lnf_b_);
        cringe::detail::gemm(MatrixMap<T>(logits.data(), idx(R), idx(config_.vocab_size)), ConstMatrixMap<T>(normed_.data(), idx(R), idx(C)),
                             ConstMatrixMap<T>(wte, idx(config_.vocab_size), idx(C)).transpose(), false);
        return logits;
    }

    /// Makes row i a copy of the old row parents[i], for i < parents.size(); the cache then has
    /// parents.size() rows (beam search: the surviving hypotheses and the beams they extend).
    void reorder(const std::vector<std::size_t>& parents) {
        for (std::size_t i = 0; i < parents.size(); ++i)
            if (parents[i] >= rows_)
                throw ValueError(cat("KvCache::reorder: parents[", i, "] is ", parents[i], "; expected < rows = ", rows_));
        const std::size_t row_size = config_.n_head * config_.n_positions * config_.head_dim();
        const std::size_t P = config_.n_positions, D = config_.head_dim();
        for (auto* caches : {&keys_, &values_})
            for (Tensor<T>& old_cache : *caches) {
                Tensor<T> reordered = layer_cache(parents.size());
                for (std::size_t i = 0; i < parents.size(); ++i)
                    for (std::size_t h = 0; h < config_.n_head; ++h) {  // only the cached positions
                        const T* from = old_cache.data() + parents[i] * row_size + h * P * D;
                        std::copy(from, from + length_ * D, reordered.data() + i * row_size + h * P * D);
                    }
                old_cache = std::move(reordered);
            }
        rows_ = parents.size();
    }

private:
    /// A scratch buffer on a 64-byte boundary (see the members at the end).
    using Scratch = std::vector<T, AlignedAllocator<T>>;

    struct LayerWeights {
        std::size_t ln_1_w, ln_1_b, attn_w, attn_b, attn_proj_w, attn_proj_b, ln_2_w, ln_2_b, fc_w, fc_b, mlp_proj_w, mlp_proj_b;
    };

    static Eigen::Index idx(std::size_t n) { return static_cast<Eigen::Index>(n); }
    /// Keys or values of one layer, [rows, H, P, D], uninitialised.
    Tensor<T> layer_cache(std::size_t rows) const {
        return Tensor<T>::from_shape({rows, config_.n_head, config_.n_positions, config_.head_dim()});
    }
    const T* weight(std::size_t i) const { return model_->parameters()[i].value.data(); }

    /// Parameter indices by their Hugging Face names (once: the lookups compare strings).
    void find_parameters() {
        const auto& params = model_->parameters();
        auto find = [&](const std::string& name) {
            for (std::size_t i = 0; i < params.size(); ++i)
                if (params[i].name == name) return i;
            throw ValueError(cat("KvCache: the model has no parameter named '", name, "'"));
        };
        wte_ = find("transformer.wte.weight");
        wpe_ = find("transformer.wpe.weight");
        lnf_w_ = find("transformer.ln_f.weight");
        lnf_b_ = find("transformer.ln_f.bias");
        for (std::size_t l = 0; l < config_.n_layer; ++l) {
            const std::string h = "transformer.h." + std::to_string(l) + ".";
            layers_.push_back({find(h + "ln_1.weight"), find(h + "ln_1.bias"), find(h + "attn.c_attn.weight"),
                               find(h + "attn.c_attn.bias"), find(h + "attn.c_proj.weight"), find(h + "attn.c_proj.bias"),
                               find(h + "ln_2.weight"), find(h + "ln_2.bias"), find(h + "mlp.c_fc.weight"),
                               find(h + "mlp.c_fc.bias"), find(h + "mlp.c_proj.weight"), find(h + "mlp.c_proj.bias")});
        }
    }

    /// ValueError naming the row, the position or the id that cannot be appended.
    void check_tokens(const std::vector<Tokens>& tokens) const {
        if (tokens.size() != rows_)
            throw ValueError(cat("KvCache::append: ", tokens.size(), " rows of tokens given; expected rows = ", rows_));
        for (std::size_t r = 0; r < tokens.size(); ++r) {
            if (tokens[r].empty() || tokens[r].size() != tokens[0].size())
                throw ValueError(cat("KvCache::append: row ", r, " has ", tokens[r].size(), " tokens; expected the same number >= 1 in every row (row 0 has ",
                                     tokens[0].size(), ")"));
            for (std::size_t i = 0; i < tokens[r].size(); ++i)
                if (tokens[r][i] < 0 || static_cast<std::size_t>(tokens[r][i]) >= config_.vocab_size)
                    throw ValueError(cat("KvCache::append: token id ", tokens[r][i], " at row ", r, " position ", length_ + i,
                                         " is out of range; expected 0 <= id < vocab_size = ", config_.vocab_size));
        }
        if (!tokens.empty() && length_ + tokens[0].size() > config_.n_positions)
            throw ValueError(cat("KvCache::append: ", length_, " cached + ", tokens[0].size(), " new positions exceed n_positions = ",
                                 config_.n_positions, "; expected at most ", config_.n_positions - length_, " new tokens"));
    }

    /// out = LayerNorm(in) row by row, the arithmetic of ops/layer_norm.hpp's forward.
    void layer_norm_rows(const T* in, T* out, std::size_t rows, std::size_t w, std::size_t b) const {
        using std::sqrt;
        const std::size_t C = config_.n_embd;
        ConstArrayMap<T> gain(weight(w), idx(C)), shift(weight(b), idx(C));
        for (std::size_t r = 0; r < rows; ++r) {
            ConstArrayMap<T> row(in + r * C, idx(C));
            const T mu = row.mean();
            const T var = (row - mu).square().mean();
            const T rstd = T(1) / sqrt(var + T(config_.layer_norm_epsilon));
            ArrayMap<T> xh(out + r * C, idx(C));
            xh = (row - mu) * rstd;
            xh = xh * gain + shift;
        }
    }

    /// out[M,N] = in[M,K] W[K,N] + b (Conv1D orientation, as Gpt's linear).
    void linear(const T* in, std::size_t M, std::size_t K, std::size_t w, std::size_t b, std::size_t N, Scratch& out) const {
        out.resize(M * N);
        cringe::detail::gemm(MatrixMap<T>(out.data(), idx(M), idx(N)), ConstMatrixMap<T>(in, idx(M), idx(K)),
                             ConstMatrixMap<T>(weight(w), idx(K), idx(N)), false);
        ConstArrayMap<T> bias(weight(b), idx(N));
        for (std::size_t m = 0; m < M; ++m) ArrayMap<T>(out.data() + m * N, idx(N)) += bias;
    }

    /// One transformer block on the n new positions of every row (x_ in place).
    void layer(std::size_t l, std::size_t n) {
        const LayerWeights& lw = layers_[l];
        const std::size_t R = rows_, M = R * n, C = config_.n_embd, H = config_.n_head, D = config_.head_dim();
        const std::size_t P = config_.n_positions, L = length_, total = L + n;
        // attention sub-layer: qkv of the new positions; their k and v go into the cache
        normed_.resize(M * C);
        layer_norm_rows(x_.data(), normed_.data(), M, lw.ln_1_w, lw.ln_1_b);
        linear(normed_.data(), M, C, lw.attn_w, lw.attn_b, 3 * C, qkv_);
        T* keys = keys_[l].data();
        T* values = values_[l].data();
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t h = 0; h < H; ++h) {
                    const T* src = qkv_.data() + (r * n + i) * 3 * C + h * D;
                    const std::size_t at = ((r * H + h) * P + L + i) * D;
                    std::copy(src + C, src + C + D, keys + at);
                    std::copy(src + 2 * C, src + 2 * C + D, values + at);
                }
        using StridedRows = Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>>;
        using StridedOut = Eigen::Map<RowMatrix<T>, 0, Eigen::OuterStride<>>;
        const T scale = T(1.0 / std::sqrt(static_cast<double>(D)));
        y_.resize(M * C);
        scores_.resize(n * total);
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t h = 0; h < H; ++h) {
                StridedRows q(qkv_.data() + r * n * 3 * C + h * D, idx(n), idx(D), Eigen::OuterStride<>(idx(3 * C)));
                ConstMatrixMap<T> k(keys + (r * H + h) * P * D, idx(total), idx(D));
                ConstMatrixMap<T> v(values + (r * H + h) * P * D, idx(total), idx(D));
                MatrixMap<T> s(scores_.data(), idx(n), idx(total));
                // lazyProduct: a plain loop over the coefficients. These products are tiny ([n, D] x
                // [D, L+n], n = 1 when decoding); a BLAS call would spend more on packing than on them.
                s.noalias() = q.lazyProduct(k.transpose());
                for (std::size_t i = 0; i < n; ++i) {
                    // new position L+i sees columns 0..L+i (causal); the full forward's masked columns
                    // are -1e9 there, whose exp is flushed to exactly 0, so they are 0 here too
                    const std::size_t seen = L + i + 1;
                    ArrayMap<T> row(scores_.data() + i * total, idx(seen));
                    row = row * scale;
                    const T m = cringe::detail::slice_shift<T>(row);
                    probs_.resize(seen);
                    ArrayMap<T> e(probs_.data(), idx(seen));
                    const T sum = cringe::detail::shifted_exp(row, m, e);
                    row = e / sum;
                    std::fill(scores_.data() + i * total + seen, scores_.data() + (i + 1) * total, T(0));
                }
                StridedOut y(y_.data() + r * n * C + h * D, idx(n), idx(D), Eigen::OuterStride<>(idx(C)));
                y.noalias() = s.lazyProduct(v);
            }
        linear(y_.data(), M, C, lw.attn_proj_w, lw.attn_proj_b, C, proj_);
        ArrayMap<T>(x_.data(), idx(M * C)) += ConstArrayMap<T>(proj_.data(), idx(M * C));
        // MLP sub-layer
        layer_norm_rows(x_.data(), normed_.data(), M, lw.ln_2_w, lw.ln_2_b);
        linear(normed_.data(), M, C, lw.fc_w, lw.fc_b, 4 * C, hidden_);
        ArrayMap<T> hidden(hidden_.data(), idx(M * 4 * C));
        hidden = unary::Gelu::f(hidden);  // elementwise: in place is safe
        linear(hidden_.data(), M, 4 * C, lw.mlp_proj_w, lw.mlp_proj_b, C, proj_);
        ArrayMap<T>(x_.data(), idx(M * C)) += ConstArrayMap<T>(proj_.data(), idx(M * C));
    }

    const nn::Gpt<T>* model_;
    nn::GptConfig config_;
    std::size_t rows_ = 0, length_ = 0;
    std::size_t wte_ = 0, wpe_ = 0, lnf_w_ = 0, lnf_b_ = 0;
    std::vector<LayerWeights> layers_;
    std::vector<Tensor<T>> keys_, values_;  // per layer [rows, H, P, D]
    // Scratch buffers, kept across appends so that a decoding step allocates nothing once warm. On
    // 64-byte boundaries, as every tensor buffer (AlignedAllocator): Eigen's reductions, its exp and its
    // coefficient-wise products take a scalar or a SIMD path per element by the element's ADDRESS, so
    // with malloc's 16-byte alignment the logits' last bits depended on where the heap put these
    // buffers, and sampled replies changed from run to run (tests/generate/test_kv_cache.cpp).
    Scratch x_, normed_, qkv_, y_, scores_, probs_, proj_, hidden_;
};

}  // namespace cringe::generate
