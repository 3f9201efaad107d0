// bench/bench_common.hpp - helpers shared by the benchmark programs (random tensors, peak RSS).
#pragma once

#include <sys/resource.h>

#include <cstddef>
#include <cstdio>
#include <string>

#include <benchmark/benchmark.h>

#include "cringe/detail/gemm.hpp"
#include "cringe/nn/gpt_config.hpp"
#include "cringe/rng.hpp"
#include "cringe/tensor.hpp"

namespace cringe::bench {

/// A model configuration of the benchmarks, with the batch a training step or a decoding run uses.
struct ModelConfig {
    const char* name;
    std::size_t vocab, d_model, layers, heads, seq, batch;

    /// The GPT of this configuration (context = seq, no dropout).
    nn::GptConfig gpt_config() const {
        nn::GptConfig config;
        config.vocab_size = vocab;
        config.n_positions = seq;
        config.n_embd = d_model;
        config.n_layer = layers;
        config.n_head = heads;
        config.dropout = 0.0;
        return config;
    }
};

/// docs/performance.md, the configs table (the decoding benchmark runs the first two).
constexpr ModelConfig kModelConfigs[] = {
    {"tiny", 64, 64, 2, 4, 32, 16},
    {"small", 256, 128, 4, 4, 64, 16},
    {"medium", 512, 256, 4, 8, 128, 8},
};

/// A tensor of N(0, scale^2) values from a seeded Rng (the same figures on every run).
template <class T>
Tensor<T> random_tensor(const Shape& shape, Rng& rng, double scale = 1.0) {
    Tensor<T> t = Tensor<T>::from_shape(shape);
    for (auto& v : t) v = T(rng.normal(0.0, scale));
    return t;
}

template <class T>
constexpr const char* dtype_name() {
    return sizeof(T) == 4 ? "fp32" : "fp64";
}

/// Peak resident set size of this process so far, in MiB (getrusage ru_maxrss is in KiB on Linux).
inline double peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

/// A counter shown as a rate: `per_iteration` x iterations / seconds (e.g. GFLOP/s with GFLOP per iteration).
inline benchmark::Counter rate(double per_iteration) {
    return benchmark::Counter(per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

/// The main() of every benchmark program: register the float and double benchmarks (named at run
/// time, so each program has its own `register_all<T>()`), then hand over to Google Benchmark.
template <class RegisterFloat, class RegisterDouble>
int run_benchmarks(int argc, char** argv, RegisterFloat register_float, RegisterDouble register_double) {
    // A CRINGE_MATRIX_PRODUCTS the library does not know: a message and exit status 2, before anything runs.
    std::string products;
    try {
        products = detail::describe_matrix_products();
    } catch (const cringe::Error& e) {
        std::fprintf(stderr, "%s: %s\n", argc > 0 ? argv[0] : "benchmark", e.what());
        return 2;
    }
    register_float();
    register_double();
    benchmark::AddCustomContext("blas_kernel", products);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

}  // namespace cringe::bench
