// Decoding with the key/value cache (generate/kv_cache.hpp) against the reference: nn::Gpt::forward
// on the whole prefix, and generate() with use_cache = false.
//
// Tolerance of the logits. Not bitwise: the cache multiplies [rows * new, C] matrices where the
// full forward multiplies [rows * prefix, C] ones, and Eigen/OpenBLAS sum a dot product in an order
// that depends on the matrix sizes (blocking, vector width, the one-row GEMV path); the attention
// softmax sums L+1 terms instead of n_positions (the masked ones are exact zeros, but the order of
// the sum changes). Every other step is the same arithmetic as the reference op. So each value
// agrees to a few units in the last place: the test allows 32 eps relative to the largest logit
// of the row (4e-6 in float, 7e-15 in double for logits of order 1); the worst case measured over
// these tests was 5.2 eps in float and 4.2 in double (with OpenBLAS), and it is printed on failure. A wrong mask, position, cached row or layer
// shows up as differences of order 1e-2 or more: the weights are scaled up so that attention is far
// from uniform and every mistake moves the logits.
#include "../support/testing.hpp"

#include <cstring>
#include <memory>

#include <cringe/generate/generate.hpp>
#include <cringe/generate/kv_cache.hpp>

using namespace cringe;

namespace kv_cache_test {

using cringe::generate::KvCache;
using cringe::generate::Options;
using cringe::generate::Strategy;
using cringe::Tokens;
using cringe::nn::Gpt;
using cringe::nn::GptConfig;

constexpr std::size_t kVocab = 19, kPositions = 12;

/// A small model whose matrices are scaled up 6x from GPT-2's initialisation, so that attention is
/// sharp (not nearly uniform) and the logits are of order 1.
template <class T>
Gpt<T> sharp_model(std::uint64_t seed) {
    Gpt<T> model(GptConfig{.vocab_size = kVocab, .n_positions = kPositions, .n_embd = 16, .n_layer = 2, .n_head = 4}, seed);
    for (auto& p : model.parameters())
        if (p.value.dimension() == 2) p.value *= T(6);
    return model;
}

/// The reference: last-position logits of Gpt::forward over every row's whole prefix, [rows][V].
template <class T>
std::vector<std::vector<T>> full_forward_last(Gpt<T>& model, const std::vector<Tokens>& rows) {
    const std::size_t B = rows.size(), Tn = rows[0].size();
    IdTensor tokens = IdTensor::from_shape({B, Tn});
    for (std::size_t b = 0; b < B; ++b) std::copy(rows[b].begin(), rows[b].end(), tokens.data() + b * Tn);
    Tape<T> tape;
    auto guard = tape.no_grad();
    const Tensor<T> logits = model.forward(tape, tokens).value();
    std::vector<std::vector<T>> out(B);
    for (std::size_t b = 0; b < B; ++b)
        out[b].assign(logits.data() + (b * Tn + Tn - 1) * kVocab, logits.data() + (b * Tn + Tn) * kVocab);
    return out;
}

/// Checks cached logits [rows, V] against the reference within 32 eps of the row's largest logit;
/// returns the worst difference in units of that scale.
template <class T>
double require_logits_match(const Tensor<T>& cached, const std::vector<std::vector<T>>& reference) {
    REQUIRE(cached.shape()[0] == reference.size());
    const double eps = static_cast<double>(std::numeric_limits<T>::epsilon());
    double worst = 0;
    for (std::size_t r = 0; r < reference.size(); ++r) {
        double scale = 0;
        for (T v : reference[r]) scale = std::max(scale, std::abs(static_cast<double>(v)));
        REQUIRE(scale > 0.1);  // the sharpened model's logits are of order 1: the tolerance is not vacuous
        for (std::size_t v = 0; v < kVocab; ++v) {
            const double diff = std::abs(static_cast<double>(cached(r, v)) - static_cast<double>(reference[r][v]));
            worst = std::max(worst, diff / (scale * eps));
        }
    }
    INFO("worst difference: " << worst << " eps x the row's largest logit");
    REQUIRE(worst <= 32.0);
    return worst;
}

/// Random token rows, [rows][length].
std::vector<Tokens> random_rows(std::size_t rows, std::size_t length, std::uint64_t seed) {
    Rng rng(seed);
    std::vector<Tokens> out(rows, Tokens(length));
    for (auto& row : out)
        for (auto& id : row) id = static_cast<std::int64_t>(rng.below(kVocab));
    return out;
}

}  // namespace kv_cache_test

using namespace kv_cache_test;

TEMPLATE_TEST_CASE("kv cache: logits equal the full forward's last position, to the context limit", "[generate][kv_cache]", float, double) {
    auto model = sharp_model<TestType>(11);
    for (std::size_t prompt_length : {1u, 3u, 7u}) {
        INFO("prompt length " << prompt_length);
        std::vector<Tokens> rows = random_rows(3, prompt_length, 100 + prompt_length);
        const std::vector<Tokens> continuation = random_rows(3, kPositions - prompt_length, 200 + prompt_length);
        KvCache<TestType> cache(model, 3);
        require_logits_match(cache.append(rows), full_forward_last(model, rows));  // the prompt in one call
        for (std::size_t step = 0; step + prompt_length < kPositions; ++step) {    // then one token at a time
            std::vector<Tokens> fresh;
            for (std::size_t r = 0; r < 3; ++r) {
                fresh.push_back({continuation[r][step]});
                rows[r].push_back(continuation[r][step]);
            }
            require_logits_match(cache.append(fresh), full_forward_last(model, rows));
        }
        CHECK(cache.length() == kPositions);  // filled to n_positions: the last call used the last position
        CHECK_THROWS_WITH(cache.append({{1}, {1}, {1}}), Catch::Contains("KvCache::append: 12 cached + 1 new positions exceed n_positions = 12"));
    }
}

TEMPLATE_TEST_CASE("kv cache: appending in chunks equals appending at once", "[generate][kv_cache]", float, double) {
    auto model = sharp_model<TestType>(12);
    const std::vector<Tokens> rows = random_rows(2, 9, 7);
    KvCache<TestType> cache(model, 2);
    std::vector<Tokens> prefix(2);
    for (auto [from, to] : {std::pair<std::size_t, std::size_t>{0, 4}, {4, 5}, {5, 9}}) {
        std::vector<Tokens> chunk(2);
        for (std::size_t r = 0; r < 2; ++r) {
            chunk[r].assign(rows[r].begin() + static_cast<long>(from), rows[r].begin() + static_cast<long>(to));
            prefix[r].insert(prefix[r].end(), chunk[r].begin(), chunk[r].end());
        }
        require_logits_match(cache.append(chunk), full_forward_last(model, prefix));
    }
}

TEMPLATE_TEST_CASE("kv cache: reorder makes each row continue its parent (beam search)", "[generate][kv_cache]", float, double) {
    auto model = sharp_model<TestType>(13);
    std::vector<Tokens> rows = random_rows(3, 4, 21);
    KvCache<TestType> cache(model, 3);
    cache.append(rows);
    // rows become (old 2, old 0, old 0, old 1): duplicated, permuted, and one more row than before
    const std::vector<std::size_t> parents = {2, 0, 0, 1};
    cache.reorder(parents);
    REQUIRE(cache.rows() == 4);
    std::vector<Tokens> reordered;
    for (std::size_t p : parents) reordered.push_back(rows[p]);
    const std::vector<Tokens> next = {{3}, {5}, {6}, {18}};  // rows 1 and 2 share a parent, not a token
    for (std::size_t r = 0; r < 4; ++r) reordered[r].push_back(next[r][0]);
    require_logits_match(cache.append(next), full_forward_last(model, reordered));
    cache.reorder({3});  // down to one row
    Tokens last = reordered[3];
    last.push_back(4);
    require_logits_match(cache.append({{4}}), full_forward_last(model, {last}));
}

TEMPLATE_TEST_CASE("kv cache: the same bits wherever the heap puts its buffers", "[generate][kv_cache]", float, double) {
    // The bug: the cache's scratch buffers were std::vectors (malloc: 16-byte alignment), and Eigen's
    // reductions, exp and coefficient-wise products choose a scalar or a SIMD path per element by its
    // address, so the logits' last bits depended on where the heap put them: cringe-repro's sampled
    // accuracy moved between two runs of the same commit. Each attempt shifts the heap by a few odd-sized
    // blocks first; with the scratch on 64-byte boundaries every attempt gives the same bits (before the
    // fix, 10 of 12 attempts of this kind differed from the first).
    using T = TestType;
    GptConfig config{.vocab_size = 97, .n_positions = 40, .n_embd = 24, .n_layer = 2, .n_head = 3};
    Gpt<T> model(config, 3);
    const std::vector<Tokens> prompts = {{1, 5, 9, 2, 7}, {3, 3, 8, 1, 0}, {4, 6, 2, 2, 9}};
    std::vector<std::unique_ptr<char[]>> heap_shifts;
    std::vector<T> first;
    for (std::size_t attempt = 0; attempt < 12; ++attempt) {
        heap_shifts.push_back(std::make_unique<char[]>(16 * attempt + 8));
        KvCache<T> cache(model, prompts.size());
        std::vector<T> all;
        Tensor<T> logits = cache.append(prompts);
        all.insert(all.end(), logits.begin(), logits.end());
        for (std::size_t step = 0; step < 20; ++step) {
            std::vector<Tokens> next;
            for (std::size_t r = 0; r < prompts.size(); ++r) next.push_back({static_cast<TokenId>((step * 7 + r * 3) % 97)});
            heap_shifts.push_back(std::make_unique<char[]>(8 + 16 * (step % 3)));
            logits = cache.append(next);
            all.insert(all.end(), logits.begin(), logits.end());
        }
        INFO("attempt " << attempt);
        if (attempt == 0) first = all;
        else REQUIRE(std::memcmp(all.data(), first.data(), all.size() * sizeof(T)) == 0);
    }
}

TEST_CASE("kv cache: bad appends and reorders are ValueErrors naming what is wrong", "[generate][kv_cache]") {
    auto model = sharp_model<double>(14);
    KvCache<double> cache(model, 2);
    CHECK_THROWS_AS(cache.append({{1}}), ValueError);
    CHECK_THROWS_WITH(cache.append({{1}}), "KvCache::append: 1 rows of tokens given; expected rows = 2");
    CHECK_THROWS_WITH(cache.append({{1, 2}, {3}}),
                      "KvCache::append: row 1 has 1 tokens; expected the same number >= 1 in every row (row 0 has 2)");
    CHECK_THROWS_WITH(cache.append({{}, {}}),
                      "KvCache::append: row 0 has 0 tokens; expected the same number >= 1 in every row (row 0 has 0)");
    CHECK_THROWS_WITH(cache.append({{1}, {19}}),
                      "KvCache::append: token id 19 at row 1 position 0 is out of range; expected 0 <= id < vocab_size = 19");
    CHECK_THROWS_WITH(cache.append({Tokens(13, 1), Tokens(13, 1)}),
                      "KvCache::append: 0 cached + 13 new positions exceed n_positions = 12; expected at most 12 new tokens");
    CHECK(cache.length() == 0);  // a rejected append changes nothing
    CHECK_THROWS_WITH(cache.reorder({0, 2}), "KvCache::reorder: parents[1] is 2; expected < rows = 2");
    CHECK(cache.rows() == 2);
}

TEMPLATE_TEST_CASE("generate: greedy, sampling and beam decode the same tokens with and without the cache", "[generate][kv_cache]", float, double) {
    auto model = sharp_model<TestType>(15);
    CHECK(Options{}.use_cache);  // the cache is the default; use_cache = false is the reference path
    // one prompt; two of equal length (one batch); mixed lengths, one of n_positions - 1 tokens
    const std::vector<std::vector<Tokens>> prompt_sets = {
        {{1}}, {{2, 3, 4}, {5, 6, 7}}, {{1, 2}, {3}, {4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, {8, 8, 8, 8, 8}}};
    std::vector<Options> settings;
    {
        Options o;  // greedy
        settings.push_back(o);
        o.strategy = Strategy::sample;  // plain sampling, then top-k + top-p + temperature
        o.seed = 3;
        settings.push_back(o);
        o.top_k = 5;
        o.top_p = 0.9;
        o.temperature = 0.7;
        o.seed = 4;
        settings.push_back(o);
        Options beam;  // beam search as in the paper's evaluation (min length, 3-gram blocking, EOS)
        beam.strategy = Strategy::beam;
        beam.beam_size = 4;
        beam.min_length = 2;
        beam.no_repeat_ngram = 3;
        beam.eos_id = 0;
        settings.push_back(beam);
        beam.eos_id = -1;  // no EOS: every hypothesis runs to the length limit
        beam.no_repeat_ngram = 0;
        beam.beam_size = 3;
        settings.push_back(beam);
    }
    std::size_t reached_limit = 0;
    for (std::size_t s = 0; s < settings.size(); ++s)
        for (std::size_t p = 0; p < prompt_sets.size(); ++p)
            for (std::size_t max_new : {1u, 4u, 100u}) {  // 100: every prompt runs into n_positions
                INFO("setting " << s << ", prompt set " << p << ", max_new_tokens " << max_new);
                Options cached = settings[s], reference = settings[s];
                cached.max_new_tokens = reference.max_new_tokens = max_new;
                reference.use_cache = false;
                const auto with_cache = generate::generate(model, prompt_sets[p], cached);
                const auto without = generate::generate(model, prompt_sets[p], reference);
                REQUIRE(with_cache == without);
                for (std::size_t i = 0; i < without.size(); ++i) {
                    CHECK(!without[i].empty());
                    if (prompt_sets[p][i].size() + without[i].size() == kPositions) ++reached_limit;
                }
            }
    CHECK(reached_limit >= 20);  // the context-length limit was exercised, not only short runs
}
