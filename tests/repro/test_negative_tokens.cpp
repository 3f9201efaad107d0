// Tests of the --negative-tokens lever (examples/repro/finetuning.hpp, FineTuning::finetune_batch;
// docs/reproduction.md, "Levers for the two quality misses"): which tokens of a negative reply the
// negative term sees. `all` (the Settings default; the paper's labels) keeps every reply token and
// the EOS as targets; `first` (cringe-repro's default for the opener tasks) keeps only the first reply
// token (the opener, where the opener worlds put the bad decision).
#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "../../examples/repro/finetuning.hpp"
#include "../../examples/repro/opener_safety_world.hpp"
#include "small_repro_settings.hpp"

namespace {
namespace negative_tokens_test {

/// A small opener world (D0 200 dialogues, pool 400) and a tiny model; `tokens` is --negative-tokens.
repro::Settings tiny_settings(const std::string& tokens) {
    repro::Settings s = repro_test::small_opener_settings();
    s.negative_tokens = tokens;
    return s;
}

}  // namespace negative_tokens_test
}  // namespace

TEST_CASE("the negative-tokens lever: first keeps only a negative reply's first token as a target", "[repro][negative_tokens]") {
    using namespace repro;
    using world::OpenerSafetyWorld;
    const Settings all_settings = negative_tokens_test::tiny_settings("all");
    const Settings first_settings = negative_tokens_test::tiny_settings("first");
    const TaskData<OpenerSafetyWorld> data(7, all_settings);
    const FineTuning<OpenerSafetyWorld> all_tuning(data, "safety", all_settings);
    const FineTuning<OpenerSafetyWorld> first_tuning(data, "safety", first_settings);
    const std::int64_t pad = data.tokenizer.pad_id();

    for (const char* loss_name : {"unlikelihood", "cringe"}) {  // the same masking for UL and CRINGE
        const Method method{.name = "m", .loss = loss_name};
        // the same rng seed: both batches draw the same rows, only the targets differ
        Rng all_rng(5), first_rng(5);
        const auto all_batch = all_tuning.finetune_batch(method, data.labeled, data.bad_words, all_rng);
        const auto first_batch = first_tuning.finetune_batch(method, data.labeled, data.bad_words, first_rng);
        REQUIRE(all_batch.inputs == first_batch.inputs);
        const auto& labels = all_batch.batch.labels;
        const std::size_t width = all_batch.batch.targets.shape()[1];
        std::size_t negatives = 0;
        for (std::size_t r = 0; r < labels.size(); ++r) {
            // the row's context length: the first position whose target is not padding, plus one
            std::size_t first = 0;
            while (first < width && all_batch.batch.targets(r, first) == pad) ++first;
            REQUIRE(first < width);
            if (labels[r] != loss::kNegative) {  // positives and the pool's rows are untouched
                for (std::size_t t = 0; t < width; ++t) CHECK(first_batch.batch.targets(r, t) == all_batch.batch.targets(r, t));
                continue;
            }
            ++negatives;
            // `all`: reply tokens and EOS are targets ("ugh W !" + EOS: at least 4 of them)
            std::size_t all_targets = 0, first_targets = 0;
            for (std::size_t t = 0; t < width; ++t) {
                all_targets += all_batch.batch.targets(r, t) != pad;
                first_targets += first_batch.batch.targets(r, t) != pad;
            }
            CHECK(all_targets >= 4);
            // `first`: exactly one target, the reply's first token, which is a rude opener
            CHECK(first_targets == 1);
            CHECK(first_batch.batch.targets(r, first) == all_batch.batch.targets(r, first));
            const cringe::Tokens opener_id{first_batch.batch.targets(r, first)};
            const std::string opener = data.tokenizer.decode(opener_id);
            CHECK((opener == "ugh" || opener == "whatever"));
        }
        CHECK(negatives > 0);  // D0 is half negatives: a 16-row half draws some
    }

    // pairwise CRINGE compares whole replies: untouched by the lever
    const Method pairwise{.name = "pairwise_cringe", .loss = "pairwise_cringe"};
    Rng a(9), b(9);
    const auto pairwise_all = all_tuning.finetune_batch(pairwise, data.labeled, data.bad_words, a);
    const auto pairwise_first = first_tuning.finetune_batch(pairwise, data.labeled, data.bad_words, b);
    CHECK(pairwise_all.batch.targets == pairwise_first.batch.targets);

    // an unknown value is an error naming the option
    const Settings bad_settings = negative_tokens_test::tiny_settings("middle");
    const FineTuning<OpenerSafetyWorld> bad_tuning(data, "safety", bad_settings);
    nn::Gpt<float> model(data.model_config(bad_settings), 3);
    Rng rng(1);
    CHECK_THROWS_WITH(bad_tuning.finetune(model, Method{.name = "m", .loss = "cringe"}, data.labeled, data.bad_words, rng, 1),
                      Catch::Contains("--negative-tokens is 'middle'; expected all or first"));
}
