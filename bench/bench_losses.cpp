// bench/bench_losses.cpp - forward + backward of every loss policy on random logits.
//
//   loss/<policy>/V<V>/<dtype>   B = 16, T = 64, logits [B,T,V] ~ N(0, 1), random targets in [0, V),
//                                even rows positive (label 1), odd rows negative (label 0), no pads;
//                                pairwise: pairs (0,1), (2,3), ... (chosen even, rejected odd).
// One iteration: tape.clear(), the logits as a Parameter leaf (no copy of the [B,T,V] tensor), the
// policy's forward (which computes the fused gradient), backward into the Parameter's grad.
// CRINGE and pairwise sample their positives from a seeded Rng (k = 5), created once.
#include <string>

#include "bench_common.hpp"
#include "cringe/loss/losses.hpp"

namespace {

using namespace cringe;
using cringe::bench::dtype_name;
using cringe::bench::random_tensor;

constexpr std::size_t kB = 16, kT = 64;

loss::Batch make_batch(std::size_t V, bool pairs) {
    Rng rng(11);
    loss::Batch batch;
    batch.targets = IdTensor::from_shape({kB, kT});
    for (auto& y : batch.targets) y = static_cast<std::int64_t>(rng.below(V));
    batch.pad_id = -1;  // no pads: every target counts
    for (std::size_t b = 0; b < kB; ++b) batch.labels.push_back(b % 2 == 0 ? loss::kPositive : loss::kNegative);
    if (pairs)
        for (std::size_t b = 0; b + 1 < kB; b += 2) batch.pairs.emplace_back(b, b + 1);
    return batch;
}

template <class Policy>
void loss_bench(benchmark::State& state, Policy policy, bool pairs) {
    using T = typename Policy::scalar_type;
    const auto V = static_cast<std::size_t>(state.range(0));
    Rng init(10);
    Parameter<T> logits("logits", random_tensor<T>({kB, kT, V}, init));
    const loss::Batch batch = make_batch(V, pairs);
    Rng sample_rng(12);
    const loss::Sampler sampler{&sample_rng, nullptr};
    Tape<T> tape;
    for (auto _ : state) {
        tape.clear();  // the grad is not zeroed: backward's += is the work measured, a memset is not
        auto out = policy(tape.parameter(logits), batch, sampler);
        tape.backward(out.loss);
        benchmark::DoNotOptimize(logits.grad.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kB * kT));  // tokens
}

template <class T>
void register_all() {
    const std::string dt = dtype_name<T>();
    for (long V : {256L, 4096L}) {
        const std::string suffix = "/V" + std::to_string(V) + "/" + dt;
        auto add = [&](const std::string& name, auto policy, bool pairs) {
            benchmark::RegisterBenchmark(("loss/" + name + suffix).c_str(),
                                         [policy, pairs](benchmark::State& s) { loss_bench(s, policy, pairs); })
                ->Arg(V)
                ->Unit(benchmark::kMicrosecond);
        };
        add("cross_entropy", loss::CrossEntropy<T>{}, false);
        add("unlikelihood", loss::Unlikelihood<T>{}, false);
        add("cringe", loss::Cringe<T>{.k = 5}, false);
        add("sigmoid_only", loss::SigmoidOnly<T>{}, false);
        add("pairwise_cringe", loss::PairwiseCringe<T>{.k = 5}, true);
    }
}

}  // namespace

int main(int argc, char** argv) {
    return cringe::bench::run_benchmarks(argc, argv, register_all<float>, register_all<double>);
}
