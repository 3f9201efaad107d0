// Gpt's two attention paths (AttentionPath::fused, the default, and AttentionPath::reference) train
// the same model to the same bits: steps with dropout and AdamW, float and double; the fused path on
// several threads too.
#include "../support/testing.hpp"

#include <cringe/nn/gpt.hpp>

using namespace cringe;
using namespace cringe::testing;
using cringe::nn::AttentionPath;
using cringe::nn::Gpt;
using cringe::nn::GptConfig;

namespace {

/// What a few training steps leave behind: the loss of every step and the final parameters.
template <class T>
struct TrainedModel {
    std::vector<T> losses;
    std::vector<Tensor<T>> parameters;
    std::size_t nodes_per_step = 0;
};

/// Trains a fresh (seeded) model for `steps` CRINGE steps with dropout 0.1 on two sequences of
/// different labels, with attention computed along `path`.
template <class T>
TrainedModel<T> train_along(AttentionPath path, const GptConfig& config, std::size_t steps, std::size_t threads = 1) {
    Gpt<T> gpt(config, 21);
    gpt.set_attention_path(path);
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

template <class T>
void require_paths_train_alike(const GptConfig& config) {
    const TrainedModel<T> fused = train_along<T>(AttentionPath::fused, config, 4);
    const TrainedModel<T> reference = train_along<T>(AttentionPath::reference, config, 4);
    const TrainedModel<T> threaded = train_along<T>(AttentionPath::fused, config, 4, 3);  // 3 threads over the heads
    for (std::size_t step = 0; step < fused.losses.size(); ++step) {
        INFO("step " << step);
        CHECK(fused.losses[step] == reference.losses[step]);
        CHECK(threaded.losses[step] == reference.losses[step]);
    }
    std::size_t differing = 0, differing_threaded = 0;
    for (std::size_t i = 0; i < fused.parameters.size(); ++i)
        for (std::size_t j = 0; j < fused.parameters[i].size(); ++j) {
            differing += fused.parameters[i].data()[j] == reference.parameters[i].data()[j] ? 0 : 1;
            differing_threaded += threaded.parameters[i].data()[j] == reference.parameters[i].data()[j] ? 0 : 1;
        }
    CHECK(differing == 0);
    CHECK(differing_threaded == 0);
    // The fused op replaces 17 nodes per layer (slice, reshape and permute for each of q, k, v; matmul,
    // affine, masked_fill, softmax, dropout, matmul, permute, reshape) by one.
    CHECK(reference.nodes_per_step - fused.nodes_per_step == 16 * config.n_layer);
}

}  // namespace

TEST_CASE("attention paths: fused by default, and set_attention_path switches", "[nn][attention]") {
    Gpt<float> gpt(GptConfig{.vocab_size = 9, .n_positions = 8, .n_embd = 8, .n_layer = 1, .n_head = 2}, 1);
    CHECK(gpt.attention_path() == AttentionPath::fused);
    gpt.set_attention_path(AttentionPath::reference);
    CHECK(gpt.attention_path() == AttentionPath::reference);
    CHECK(gpt.attention_threads() == 1);
    gpt.set_attention_threads(2);
    CHECK(gpt.attention_threads() == 2);
    REQUIRE_THROWS_WITH(gpt.set_attention_threads(0), Catch::Contains("Gpt::set_attention_threads: threads is 0"));
}

TEST_CASE("attention paths: training steps with dropout give the same losses and parameters, bit for bit", "[nn][attention]") {
    // D = 4 (Eigen's coefficient-based products) and D = 16 with T = 7 (its GEMM).
    const GptConfig narrow{.vocab_size = 9, .n_positions = 8, .n_embd = 8, .n_layer = 2, .n_head = 2, .dropout = 0.1};
    const GptConfig wide{.vocab_size = 9, .n_positions = 8, .n_embd = 32, .n_layer = 2, .n_head = 2, .dropout = 0.1};
    require_paths_train_alike<float>(narrow);
    require_paths_train_alike<double>(narrow);
    require_paths_train_alike<float>(wide);
    require_paths_train_alike<double>(wide);
}
