// Tests of the iterative round's levers (examples/repro/finetuning.hpp, FineTuning::round_prompts and
// FineTuning::iterate; docs/reproduction.md, "Levers"): which prompts round 2 samples replies for
// (--iterate-prompts d0 | replay | none) and what the round adds.
#include <catch2/catch.hpp>

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "../../examples/repro/finetuning.hpp"
#include "../../examples/repro/fits_world.hpp"
#include "../../examples/repro/opener_safety_world.hpp"
#include "small_repro_settings.hpp"

namespace {
namespace iterative_levers_test {

/// A small opener world (D0 200 dialogues, pool 400) and a tiny model; `source` is --iterate-prompts.
repro::Settings small_settings(const std::string& source) {
    repro::Settings s = repro_test::small_opener_settings();
    s.iterate_prompts = source;
    return s;
}

}  // namespace iterative_levers_test
}  // namespace

TEST_CASE("iterative round: --iterate-prompts picks D0's prompts, the pool's insults or none", "[repro][iterative]") {
    using namespace repro;
    using world::OpenerSafetyWorld;
    const Settings d0_settings = iterative_levers_test::small_settings("d0");
    const TaskData<OpenerSafetyWorld> opener_data(7, d0_settings);

    // d0 (the default): D0's distinct negative prompts, all from the training groups 0-4
    const FineTuning<OpenerSafetyWorld> d0_tuning(opener_data, "safety", d0_settings);
    const auto from_d0 = d0_tuning.round_prompts(false);
    CHECK(from_d0 == opener_data.dialogues.train_target_prompts);
    REQUIRE(from_d0.size() > 50);
    for (const auto& p : from_d0) CHECK_FALSE(opener_data.world.is_held_out_prompt(p));

    // replay: the distinct insults of the unlabeled pool, which replays every group (held-out ones too)
    const Settings replay_settings = iterative_levers_test::small_settings("replay");
    const FineTuning<OpenerSafetyWorld> replay_tuning(opener_data, "safety", replay_settings);
    const auto from_pool = replay_tuning.round_prompts(false);
    std::set<std::string> pool_prompts;
    for (const auto& e : opener_data.dialogues.unlabeled) pool_prompts.insert(e.prompt);
    // 40 % of 400 dialogues replay insults: about 160, a few repeated
    CHECK(from_pool.size() > 100);
    CHECK(from_pool.size() <= 200);
    CHECK(std::set<std::string>(from_pool.begin(), from_pool.end()).size() == from_pool.size());
    std::size_t held_out = 0;
    for (const auto& p : from_pool) {
        CHECK(pool_prompts.count(p) == 1);
        CHECK(opener_data.world.is_target_prompt(p));
        held_out += opener_data.world.is_held_out_prompt(p);
    }
    CHECK(held_out > from_pool.size() / 4);                    // groups 5-9 are half of the replayed insults
    CHECK(held_out < from_pool.size() - from_pool.size() / 4);
    CHECK(replay_tuning.round_prompts(true) == opener_data.dialogues.train_target_prompts);  // the FITS feedback step keeps D0's prompts

    // none: the same-step control; the round adds nothing and samples nothing
    const Settings none_settings = iterative_levers_test::small_settings("none");
    const FineTuning<OpenerSafetyWorld> none_tuning(opener_data, "safety", none_settings);
    CHECK(none_tuning.round_prompts(false).empty());
    nn::Gpt<float> model(opener_data.model_config(none_settings), 3);
    Rng rng(11);
    CHECK(none_tuning.iterate(model, rng).empty());
    // without the 50/50 balance (the FITS feedback step) every sampled reply is kept: two per D0 prompt
    CHECK(d0_tuning.iterate(model, rng, false).size() == 2 * from_d0.size());

    // an unknown source, and replay in a world that does not name its target prompts, are errors
    const FineTuning<OpenerSafetyWorld> unknown_tuning(opener_data, "safety", iterative_levers_test::small_settings("held-out"));
    CHECK_THROWS_WITH(unknown_tuning.round_prompts(false), Catch::Contains("--iterate-prompts is 'held-out'"));
    const TaskData<world::FitsWorld> fits_data(7, replay_settings);
    const FineTuning<world::FitsWorld> fits_replay(fits_data, "fits", replay_settings);
    CHECK_THROWS_AS(fits_replay.round_prompts(false), cringe::ValueError);
}
