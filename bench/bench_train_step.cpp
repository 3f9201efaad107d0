// bench/bench_train_step.cpp - one full training step of the GPT-2-style model, as the PyTorch
// reference step that bench/compare_pytorch runs beside it does it.
//
//   train_step/<config>/<dtype>/<loss>    config tiny | small | medium (docs/performance.md),
//                                         loss ce | ul | cringe; attention by the fused kernel (the default)
//   train_step_reference_attention/<config>/<dtype>/<loss>
//                                         the same step with Gpt's reference attention path (the ops
//                                         composition; docs/kernels.md), for the fused-vs-reference figure
//   train_step_reference_kernels/<config>/<dtype>/<loss>
//                                         the fused attention with residual + layer norm along its reference
//                                         path (nn::KernelPath): that kernel's effect, in one binary
//   train_step_reference/<config>/<dtype>/<loss>
//                                         every kernel along its reference path: attention and residual +
//                                         layer norm composed from the reference ops
// One iteration = tape.clear() + zero_grad + forward + loss + backward + AdamW step (lr 3e-4, wd 0.01),
// no dropout, no clipping (the PyTorch step has neither). The fused attention runs on one thread
// unless CRINGE_ATTENTION_THREADS says otherwise (OPENBLAS_NUM_THREADS threads the products). Data: 4 fixed random [B, T+1] sequences,
// inputs = seq[:, :-1], targets = seq[:, 1:], cycled as the PyTorch script does.
// Labels follow that PyTorch script: ce trains on every target (label 1); ul and cringe treat every
// target as a negative token (label 0), so each token gets only the contrastive term.
// Counters: items_per_second = tokens/s (B*T per step, per CPU second: robust on a shared machine;
// bench/compare_pytorch uses real_time, as PyTorch's perf_counter), GFLOP/s in model FLOPs (the
// formula of docs/performance.md), nodes = tape nodes per step, peak_RSS_MiB = the process's peak RSS (getrusage); run one
// benchmark per process (--benchmark_filter) for a per-config memory figure. minor_faults_per_step =
// minor page faults (getrusage ru_minflt) over the timed, warmed-up steps divided by their number: a
// step that reuses every buffer takes none (a fresh page costs a fault and the kernel clearing it).
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "cringe/loss/losses.hpp"
#include "cringe/nn/gpt.hpp"
#include "cringe/optim/adamw.hpp"

namespace {

using namespace cringe;
using cringe::bench::dtype_name;
using cringe::bench::peak_rss_mib;
using cringe::bench::rate;

using BenchConfig = cringe::bench::ModelConfig;

/// Minor page faults of this process so far (a first touch of a fresh page).
long minor_faults() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

/// 6 x (weight-matrix parameters incl. the LM head) x tokens + 12 x layers x B x T^2 x d.
double model_gflop(const BenchConfig& c) {
    const double d = static_cast<double>(c.d_model), L = static_cast<double>(c.layers), V = static_cast<double>(c.vocab);
    const double T = static_cast<double>(c.seq), B = static_cast<double>(c.batch);
    const double n_matmul = L * 12.0 * d * d + d * V;
    return (6.0 * n_matmul * B * T + 12.0 * L * B * T * T * d) / 1e9;
}

struct StepData {
    IdTensor inputs;
    loss::Batch batch;
};

std::vector<StepData> make_data(const BenchConfig& c, int label) {
    Rng rng(1234);
    std::vector<StepData> data(4);
    for (auto& d : data) {
        d.inputs = IdTensor::from_shape({c.batch, c.seq});
        d.batch.targets = IdTensor::from_shape({c.batch, c.seq});
        d.batch.pad_id = -1;  // random ids include 0: no id may mean "pad"
        d.batch.labels.assign(c.batch, label);
        for (std::size_t b = 0; b < c.batch; ++b) {
            Tokens seq(c.seq + 1);
            for (auto& id : seq) id = static_cast<std::int64_t>(rng.below(c.vocab));
            for (std::size_t t = 0; t < c.seq; ++t) {
                d.inputs(b, t) = seq[t];
                d.batch.targets(b, t) = seq[t + 1];
            }
        }
    }
    return data;
}

/// Threads for the fused attention kernel: CRINGE_ATTENTION_THREADS, 1 when unset or not a positive
/// number. Not OPENBLAS_NUM_THREADS: the attention's threads gain nothing measurable beside OpenBLAS's
/// on the 2-core machine (docs/kernels.md, "Threads"), so the 2-thread runs give the cores to OpenBLAS.
std::size_t attention_threads_from_env() {
    const char* value = std::getenv("CRINGE_ATTENTION_THREADS");
    if (value == nullptr) return 1;
    char* end = nullptr;
    const long n = std::strtol(value, &end, 10);
    return (end != value && *end == '\0' && n > 0 && n <= 256) ? static_cast<std::size_t>(n) : 1;
}

template <class Policy>
void train_step(benchmark::State& state, const BenchConfig& c, Policy policy, int label, nn::AttentionPath path,
                nn::KernelPath kernels) {
    using T = typename Policy::scalar_type;
    nn::Gpt<T> model(c.gpt_config(), 0);
    model.set_attention_path(path);
    model.set_kernel_path(kernels);
    model.set_attention_threads(attention_threads_from_env());
    std::vector<Parameter<T>*> params;
    for (auto& p : model.parameters()) params.push_back(&p);
    optim::AdamW<T> adam(params, {.lr = 3e-4, .weight_decay = 0.01});
    const auto data = make_data(c, label);
    Rng rng(7);
    const loss::Sampler sampler{&rng, nullptr};
    Tape<T> tape;
    std::size_t step = 0;
    auto one_step = [&] {
        const StepData& d = data[step++ % data.size()];
        tape.clear();
        adam.zero_grad();
        Var<T> logits = model.forward(tape, d.inputs);
        auto out = policy(logits, d.batch, sampler);
        tape.backward(out.loss, BackwardOptions{.release_intermediates = true});  // as train::train
        adam.step();
        benchmark::DoNotOptimize(out.loss.value().data());
    };
    // Warm-up, two steps: the first allocates every buffer; the second still takes a few page faults
    // once (medium fp64: 32, 128 KiB, as bookkeeping grows to its final size); from the third on, none.
    one_step();
    one_step();
    const std::size_t nodes = tape.size();
    const long faults_before = minor_faults();
    for (auto _ : state) one_step();
    const long faults = minor_faults() - faults_before;
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.batch * c.seq));
    state.counters["GFLOP/s"] = rate(model_gflop(c));
    state.counters["nodes"] = static_cast<double>(nodes);
    state.counters["params"] = static_cast<double>(model.parameter_count());
    state.counters["peak_RSS_MiB"] = peak_rss_mib();
    state.counters["minor_faults_per_step"] =
        static_cast<double>(faults) / static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
}

template <class T>
void register_all() {
    const std::string dt = dtype_name<T>();
    struct Variant {
        const char* name;
        nn::AttentionPath attention;
        nn::KernelPath kernels;
    };
    static constexpr Variant variants[] = {{"train_step/", nn::AttentionPath::fused, nn::KernelPath::fused},
                                           {"train_step_reference_attention/", nn::AttentionPath::reference, nn::KernelPath::fused},
                                           {"train_step_reference_kernels/", nn::AttentionPath::fused, nn::KernelPath::reference},
                                           {"train_step_reference/", nn::AttentionPath::reference, nn::KernelPath::reference}};
    for (const Variant& variant : variants)
        for (const BenchConfig& c : cringe::bench::kModelConfigs) {
            const std::string prefix = std::string(variant.name) + c.name + "/" + dt + "/";
            auto add = [&](const char* loss_name, auto policy, int label) {
                auto* b = benchmark::RegisterBenchmark((prefix + loss_name).c_str(), [&c, policy, label, &variant](benchmark::State& s) {
                    train_step(s, c, policy, label, variant.attention, variant.kernels);
                });
                b->Unit(benchmark::kMillisecond);  // rates use CPU time; the JSON has real_time too
                if (std::string(c.name) == "medium") b->Iterations(3);  // a step takes about a second
            };
            add("ce", loss::CrossEntropy<T>{}, loss::kPositive);
            add("ul", loss::Unlikelihood<T>{}, loss::kNegative);
            add("cringe", loss::Cringe<T>{.k = 5}, loss::kNegative);
        }
}

}  // namespace

int main(int argc, char** argv) {
    return cringe::bench::run_benchmarks(argc, argv, register_all<float>, register_all<double>);
}
