// Decoding: greedy, sampling (temperature, top-k, top-p), beam search with min length and n-gram blocking.
#include "../support/testing.hpp"

#include <cringe/generate/generate.hpp>

using namespace cringe;
namespace gen = cringe::generate;
using gen::Options;
using gen::Strategy;
using cringe::nn::Gpt;
using cringe::nn::GptConfig;

namespace {
Gpt<double> model() { return Gpt<double>(GptConfig{.vocab_size = 12, .n_positions = 16, .n_embd = 16, .n_layer = 1, .n_head = 2}, 5); }
}  // namespace

TEST_CASE("greedy picks the argmax at every step and is deterministic", "[generate]") {
    auto m = model();
    Options o;
    o.max_new_tokens = 5;
    const auto out = gen::generate(m, {{1, 2}}, o);
    REQUIRE(out[0].size() == 5);
    Tokens seq = {1, 2};
    for (std::int64_t tok : out[0]) {
        Tape<double> tape;
        IdTensor in = IdTensor::from_shape({1, seq.size()});
        std::copy(seq.begin(), seq.end(), in.data());
        const auto logits = m.forward(tape, in).value();
        std::size_t best = 0;
        for (std::size_t v = 1; v < 12; ++v)
            if (logits(0, seq.size() - 1, v) > logits(0, seq.size() - 1, best)) best = v;
        CHECK(tok == static_cast<std::int64_t>(best));
        seq.push_back(tok);
    }
    CHECK(gen::generate(m, {{1, 2}}, o) == out);
}

TEST_CASE("batched decoding equals one prompt at a time, for mixed prompt lengths", "[generate]") {
    auto m = model();
    Options o;
    o.max_new_tokens = 4;
    const std::vector<Tokens> prompts = {{1, 2}, {3}, {4, 5}, {6, 7, 8}};
    const auto together = gen::generate(m, prompts, o);
    for (std::size_t i = 0; i < prompts.size(); ++i) CHECK(gen::generate(m, {prompts[i]}, o)[0] == together[i]);
}

TEST_CASE("EOS stops decoding; min_length forbids it before that many tokens", "[generate]") {
    auto m = model();
    Options o;
    o.max_new_tokens = 8;
    // prompt {2}: its greedy run starts 2, 10 (from prompt {1} this model repeats token 1, so the
    // second token would also be the first, and decoding would stop before any token)
    const auto free_run = gen::generate(m, {{2}}, o)[0];
    REQUIRE(free_run[1] != free_run[0]);
    o.eos_id = free_run[1];  // make the second greedy token the EOS
    const auto stopped = gen::generate(m, {{2}}, o)[0];
    CHECK(stopped.size() == 1);
    o.min_length = 4;
    const auto longer = gen::generate(m, {{2}}, o)[0];
    CHECK(longer.size() >= 4);
    for (std::size_t i = 0; i < 4 && i < longer.size(); ++i) CHECK(longer[i] != o.eos_id);
}

TEST_CASE("n-gram blocking: no bigram occurs twice in a reply", "[generate]") {
    auto m = model();
    Options o;
    o.max_new_tokens = 12;
    o.no_repeat_ngram = 2;
    for (Strategy s : {Strategy::greedy, Strategy::beam}) {
        o.strategy = s;
        const auto reply = gen::generate(m, {{1, 2}}, o)[0];
        std::set<std::pair<std::int64_t, std::int64_t>> seen;
        for (std::size_t i = 0; i + 1 < reply.size(); ++i) CHECK(seen.insert(std::make_pair(reply[i], reply[i + 1])).second);
    }
}

TEST_CASE("beam search of width 1 equals greedy; wider beams score at least as well", "[generate]") {
    auto m = model();
    Options o;
    o.max_new_tokens = 6;
    const auto greedy = gen::generate(m, {{1, 2}}, o)[0];
    o.strategy = Strategy::beam;
    o.beam_size = 1;
    CHECK(gen::generate(m, {{1, 2}}, o)[0] == greedy);
    o.beam_size = 5;
    o.length_penalty = 0.0;  // raw log-probability, so the comparison is exact
    const auto beam = gen::generate(m, {{1, 2}}, o)[0];
    auto logp = [&](const Tokens& reply) {
        double total = 0;
        Tokens seq = {1, 2};
        for (std::int64_t tok : reply) {
            total += gen::detail::next_token_logprobs(m, {seq})[0][static_cast<std::size_t>(tok)];
            seq.push_back(tok);
        }
        return total;
    };
    CHECK(logp(beam) >= logp(greedy) - 1e-12);
}

TEST_CASE("sampling: seeded, top-k 1 is greedy, temperature and top-p validated", "[generate]") {
    auto m = model();
    Options o;
    o.strategy = Strategy::sample;
    o.max_new_tokens = 6;
    o.seed = 3;
    const auto a = gen::generate(m, {{1, 2}, {3, 4}}, o);
    CHECK(gen::generate(m, {{1, 2}, {3, 4}}, o) == a);
    o.top_k = 1;
    Options g;
    g.max_new_tokens = 6;
    CHECK(gen::generate(m, {{1, 2}}, o)[0] == gen::generate(m, {{1, 2}}, g)[0]);
    o.top_k = 0;
    o.top_p = 1e-9;  // the nucleus is the single most likely token
    CHECK(gen::generate(m, {{1, 2}}, o)[0] == gen::generate(m, {{1, 2}}, g)[0]);
    o.temperature = 0;
    CHECK_THROWS_WITH(gen::generate(m, {{1}}, o), Catch::Contains("temperature"));
    o.temperature = 1;
    o.top_p = 1.5;
    CHECK_THROWS_WITH(gen::generate(m, {{1}}, o), Catch::Contains("top_p"));
    CHECK_THROWS_WITH(gen::generate(m, {{}}, Options{}), Catch::Contains("prompt 0 is empty"));
    CHECK_THROWS_WITH(gen::generate(m, {Tokens(16, 1)}, Options{}), Catch::Contains("n_positions"));
}
