// bench/bench_decode.cpp - decoding tokens/s with and without the key/value cache, as the PyTorch
// decoding loop that bench/compare_pytorch runs beside it (bench/torch_decode_bench.py) does it.
//
//   decode/<config>/<dtype>/<cache|full>   config tiny | small (docs/performance.md, the configs
//                                          table), cache: generate() with Options::use_cache (the
//                                          default); full: use_cache = false, every step re-runs
//                                          the model on the whole prefix (the reference path)
// One iteration = generate::generate, greedy, on `batch` fixed random prompts of seq/4 tokens,
// decoding until the context is full (seq - seq/4 new tokens per row, no EOS). Random weights: the
// greedy tokens are whatever they are; the work per step does not depend on them.
// Counters: items_per_second = new tokens/s (batch x new tokens per iteration, per CPU second;
// bench/compare_pytorch converts it to wall-clock time), peak_RSS_MiB as in bench_train_step.
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "cringe/generate/generate.hpp"

namespace {

using namespace cringe;
using cringe::bench::dtype_name;
using cringe::bench::peak_rss_mib;

using DecodeConfig = cringe::bench::ModelConfig;

template <class T>
void decode(benchmark::State& state, const DecodeConfig& c, bool use_cache) {
    nn::Gpt<T> model(c.gpt_config(), 0);
    const std::size_t prompt_length = c.seq / 4, new_tokens = c.seq - prompt_length;
    Rng rng(1234);
    std::vector<Tokens> prompts(c.batch, Tokens(prompt_length));
    for (auto& prompt : prompts)
        for (auto& id : prompt) id = static_cast<std::int64_t>(rng.below(c.vocab));
    generate::Options options;
    options.max_new_tokens = new_tokens;
    options.use_cache = use_cache;
    auto run = [&] {
        auto replies = generate::generate(model, prompts, options);
        if (replies[0].size() != new_tokens) state.SkipWithError("decoding stopped before the context was full");
        benchmark::DoNotOptimize(replies.data());
    };
    run();  // warm-up
    for (auto _ : state) run();
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.batch * new_tokens));
    state.counters["new_tokens"] = static_cast<double>(new_tokens);
    state.counters["peak_RSS_MiB"] = peak_rss_mib();
}

template <class T>
void register_all() {
    for (const DecodeConfig& c : cringe::bench::kModelConfigs) {
        if (std::string(c.name) == "medium") continue;  // tiny and small (docs/performance.md, "8. Decoding")
        for (bool use_cache : {true, false}) {
            const std::string name = std::string("decode/") + c.name + "/" + dtype_name<T>() + (use_cache ? "/cache" : "/full");
            benchmark::RegisterBenchmark(name.c_str(), [&c, use_cache](benchmark::State& s) { decode<T>(s, c, use_cache); })
                ->Unit(benchmark::kMillisecond);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    return cringe::bench::run_benchmarks(argc, argv, register_all<float>, register_all<double>);
}
