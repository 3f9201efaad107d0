// The reproduction's alpha selection (examples/repro/report.hpp): the main table's alpha of the swept
// methods is chosen on the validation prompts, never on the test prompts (docs/reproduction.md, "Protocol").
#include <catch2/catch.hpp>

#include "../../examples/repro/report.hpp"

namespace {

repro::Record record(const std::string& task, const std::string& name, double alpha, double valid, double valid_sampled, double test) {
    repro::Record r;
    r.task = task;
    r.method = {.name = name, .loss = name == "unlikelihood" ? "unlikelihood" : "cringe", .alpha = alpha, .main = alpha == 1.0};
    r.seed = 1;
    r.metrics.valid_accuracy = valid;
    r.metrics.valid_accuracy_sampled = valid_sampled;
    r.metrics.target_accuracy = test;
    return r;
}

bool main_of(const std::vector<repro::Aggregate>& aggregates, const std::string& task, const std::string& name, double alpha) {
    for (const auto& a : aggregates)
        if (a.task == task && a.method.name == name && a.method.alpha == alpha) return a.method.main;
    FAIL("no aggregate " << task << " " << name << " " << alpha);
    return false;
}

}  // namespace

TEST_CASE("cringe-repro picks the main alpha on validation accuracy, not on test accuracy", "[repro]") {
    std::vector<repro::Record> records = {
        // safety UL: alpha 0.5 is best on validation; alpha 5 is best on TEST and must not be chosen
        record("safety", "unlikelihood", 0.5, 0.9, 0.5, 0.1), record("safety", "unlikelihood", 1.0, 0.8, 0.9, 0.2),
        record("safety", "unlikelihood", 5.0, 0.7, 0.9, 1.0),
        // safety CRINGE: greedy tie between 0.5 and 2, sampled decides for 2
        record("safety", "cringe_single", 0.5, 1.0, 0.6, 0.0), record("safety", "cringe_single", 1.0, 0.9, 0.9, 0.0),
        record("safety", "cringe_single", 2.0, 1.0, 0.7, 0.0),
        // contradiction CRINGE: a full tie keeps the spec default alpha = 1
        record("contradiction", "cringe_single", 0.5, 0.6, 0.4, 0.0), record("contradiction", "cringe_single", 1.0, 0.6, 0.4, 0.0),
    };
    auto aggregates = repro::aggregate(records);
    repro::select_main_alpha(aggregates, records);
    CHECK(main_of(aggregates, "safety", "unlikelihood", 0.5));
    CHECK_FALSE(main_of(aggregates, "safety", "unlikelihood", 1.0));
    CHECK_FALSE(main_of(aggregates, "safety", "unlikelihood", 5.0));
    CHECK(main_of(aggregates, "safety", "cringe_single", 2.0));
    CHECK_FALSE(main_of(aggregates, "safety", "cringe_single", 0.5));
    CHECK_FALSE(main_of(aggregates, "safety", "cringe_single", 1.0));
    CHECK(main_of(aggregates, "contradiction", "cringe_single", 1.0));
    CHECK_FALSE(main_of(aggregates, "contradiction", "cringe_single", 0.5));
    // the per-seed records carry the same choice (summary.json's "main")
    CHECK(records[0].method.main);
    CHECK_FALSE(records[1].method.main);
    CHECK(records[5].method.main);
    CHECK(records[7].method.main);
}
