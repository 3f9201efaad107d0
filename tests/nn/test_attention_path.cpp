// Gpt's fused and reference paths train the same model to the same bits: attention
// (AttentionPath::fused, the default, and AttentionPath::reference) and residual + layer norm
// (KernelPath::fused, the default, and KernelPath::reference), each switch alone
// and both together; steps with dropout and AdamW, float and double; the fused attention on several
// threads too.
#include "../support/testing.hpp"

#include <cringe/nn/gpt.hpp>

using namespace cringe;
using namespace cringe::testing;
using cringe::nn::AttentionPath;
using cringe::nn::Gpt;
using cringe::nn::GptConfig;
using cringe::nn::KernelPath;

namespace {

/// What a few training steps leave behind: the loss of every step and the final parameters.
template <class T>
struct TrainedModel {
    std::vector<T> losses;
    std::vector<Tensor<T>> parameters;
    std::size_t nodes_per_step = 0;
};

/// Trains a fresh (seeded) model for `steps` CRINGE steps with dropout 0.1 on two sequences of
/// different labels, with attention computed along `path` and the other kernels along `kernels`.
template <class T>
TrainedModel<T> train_along(AttentionPath path, const GptConfig& config, std::size_t steps, std::size_t threads = 1,
                            KernelPath kernels = KernelPath::fused) {
    Gpt<T> gpt(config, 21);
    gpt.set_attention_path(path);
    gpt.set_kernel_path(kernels);
    gpt.set_attention_threads(threads);
    std::vector<Parameter<T>*> params;
    for (auto& p : gpt.parameters()) params.push_back(&p);
    optim::AdamW<T> adam(params, {.lr = 1e-2, .weight_decay = 0.01});
    const IdTensor tokens = ids({{1, 2, 3, 4, 5, 6, 7}, {7, 6, 5, 4, 3, 2, 1}});
    const loss::Batch batch{ids({{2, 3, 4, 5, 6, 7, 8}, {6, 5, 4, 3, 2, 1, 0}}), {loss::kPositive, loss::kNegative}, -1, {}};
    Rng dropout_rng(3), sampling_rng(4);
    TrainedModel<T> trained;
    Tape<T> tape;
    for (std::size_t step = 0; step < steps; ++step) {
        tape.clear();
        adam.zero_grad();
        Var<T> logits = gpt.forward(tape, tokens, /*training=*/true, &dropout_rng);
        Var<T> loss_value = loss::Cringe<T>{.k = 3}(logits, batch, loss::Sampler{&sampling_rng, nullptr}).loss;
        tape.backward(loss_value);
        adam.step();
        trained.losses.push_back(loss_value.value()());
        trained.nodes_per_step = tape.size();
    }
    for (const auto& p : gpt.parameters()) trained.parameters.push_back(p.value);
    return trained;
}

/// How many parameter values of a and b differ (==: +0 equals -0).
template <class T>
std::size_t differing_parameters(const TrainedModel<T>& a, const TrainedModel<T>& b) {
    std::size_t differing = 0;
    for (std::size_t i = 0; i < a.parameters.size(); ++i)
        for (std::size_t j = 0; j < a.parameters[i].size(); ++j) differing += a.parameters[i].data()[j] == b.parameters[i].data()[j] ? 0 : 1;
    return differing;
}

template <class T>
void require_paths_train_alike(const GptConfig& config) {
    const TrainedModel<T> fused = train_along<T>(AttentionPath::fused, config, 4);
    const TrainedModel<T> reference = train_along<T>(AttentionPath::reference, config, 4, 1, KernelPath::reference);
    const TrainedModel<T> threaded = train_along<T>(AttentionPath::fused, config, 4, 3);  // 3 threads over the heads
    // Each switch alone: the fused attention with the reference MLP and residuals, and the other way round.
    const TrainedModel<T> fused_attention_only = train_along<T>(AttentionPath::fused, config, 4, 1, KernelPath::reference);
    const TrainedModel<T> fused_kernels_only = train_along<T>(AttentionPath::reference, config, 4, 1, KernelPath::fused);
    for (std::size_t step = 0; step < fused.losses.size(); ++step) {
        INFO("step " << step);
        CHECK(fused.losses[step] == reference.losses[step]);
        CHECK(threaded.losses[step] == reference.losses[step]);
        CHECK(fused_attention_only.losses[step] == reference.losses[step]);
        CHECK(fused_kernels_only.losses[step] == reference.losses[step]);
    }
    CHECK(differing_parameters(fused, reference) == 0);
    CHECK(differing_parameters(threaded, reference) == 0);
    CHECK(differing_parameters(fused_attention_only, reference) == 0);
    CHECK(differing_parameters(fused_kernels_only, reference) == 0);
    // The fused attention replaces 17 nodes per layer (slice, reshape and permute for each of q, k, v;
    // matmul, affine, masked_fill, softmax, dropout, matmul, permute, reshape) by one;
    // residual_layer_norm records the same two nodes as add and layer_norm; bias_gelu one node for add
    // and gelu.
    CHECK(reference.nodes_per_step - fused_kernels_only.nodes_per_step == config.n_layer);
    CHECK(reference.nodes_per_step - fused_attention_only.nodes_per_step == 16 * config.n_layer);
    CHECK(reference.nodes_per_step - fused.nodes_per_step == 17 * config.n_layer);
}

}  // namespace

TEST_CASE("attention paths: fused by default, and set_attention_path and set_kernel_path switch", "[nn][attention]") {
    Gpt<float> gpt(GptConfig{.vocab_size = 9, .n_positions = 8, .n_embd = 8, .n_layer = 1, .n_head = 2}, 1);
    CHECK(gpt.attention_path() == AttentionPath::fused);
    CHECK(gpt.kernel_path() == KernelPath::fused);
    gpt.set_attention_path(AttentionPath::reference);
    CHECK(gpt.attention_path() == AttentionPath::reference);
    CHECK(gpt.kernel_path() == KernelPath::fused);  // the two switches are independent
    gpt.set_kernel_path(KernelPath::reference);
    CHECK(gpt.kernel_path() == KernelPath::reference);
    CHECK(gpt.attention_threads() == 1);
    gpt.set_attention_threads(2);
    CHECK(gpt.attention_threads() == 2);
    REQUIRE_THROWS_WITH(gpt.set_attention_threads(0), Catch::Contains("Gpt::set_attention_threads: threads is 0"));
}

TEST_CASE("attention paths: training steps with dropout give the same losses and parameters, bit for bit", "[nn][attention][kernels]") {
    // D = 4 (Eigen's coefficient-based products) and D = 16 with T = 7 (its GEMM).
    const GptConfig narrow{.vocab_size = 9, .n_positions = 8, .n_embd = 8, .n_layer = 2, .n_head = 2, .dropout = 0.1};
    const GptConfig wide{.vocab_size = 9, .n_positions = 8, .n_embd = 32, .n_layer = 2, .n_head = 2, .dropout = 0.1};
    require_paths_train_alike<float>(narrow);
    require_paths_train_alike<double>(narrow);
    require_paths_train_alike<float>(wide);
    require_paths_train_alike<double>(wide);
    // C = 10: rows of the residual stream that are not whole SIMD packets.
    const GptConfig odd{.vocab_size = 9, .n_positions = 8, .n_embd = 10, .n_layer = 1, .n_head = 2, .dropout = 0.1};
    require_paths_train_alike<float>(odd);
    require_paths_train_alike<double>(odd);
}
