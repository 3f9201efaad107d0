// cringe-repro --quick: the reproduction pipeline end to end (not the science): every output file
// exists and summary.json follows the contract of shared spec reproduction.md section 10.
#include "../io/temp_dir.hpp"
#include "../support/testing.hpp"
#include "run_command.hpp"

TEST_CASE("cringe-repro --quick writes summary.json, results.csv, results.md and plots", "[cli][repro]") {
    cringe_test::TempDir tmp;
    const auto out = tmp.path() / "out";
    // two --out options, as `tools/run.sh --out DIR` gives: the last one wins, the first is never created
    const auto ignored = tmp.path() / "ignored";
    const auto r = cringe_test::run_command(std::string(CRINGE_REPRO) + " --quick --threads 2 --out '" + ignored.string() + "' --out '" +
                                                out.string() + "'", "");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("| cringe_single (α=1) |") && Catch::Contains("### contradiction"));
    const auto summary = nlohmann::json::parse(cringe_test::slurp(out / "summary.json"));
    std::set<std::string> methods;
    std::size_t aggregates = 0;
    for (const auto& rec : summary.at("records")) {
        for (const char* field : {"task", "method", "seed", "aggregate", "n_seeds", "main", "target_accuracy", "target_accuracy_beam",
                                  "target_accuracy_lenient", "wellformed", "f1", "ppl", "distinct2", "neg_nll", "valid_accuracy",
                                  "valid_accuracy_sampled"})
            CHECK(rec.contains(field));
        for (const char* fraction : {"target_accuracy", "target_accuracy_beam", "f1", "distinct2", "wellformed"}) {
            CHECK(rec[fraction].get<double>() >= 0.0);
            CHECK(rec[fraction].get<double>() <= 1.0);
        }
        CHECK(rec["ppl"].get<double>() >= 1.0);
        methods.insert(rec["method"].get<std::string>());
        if (rec["aggregate"].get<bool>()) {
            ++aggregates;
            CHECK(rec.contains("target_accuracy_std"));
            CHECK(rec["seed"].is_null());
        }
    }
    for (const char* m : {"pretrained", "baseline", "unlikelihood", "cringe_single", "cringe_iterative", "pairwise_cringe", "sigmoid_only"})
        CHECK(methods.count(m));
    CHECK(aggregates > 0);
    CHECK_FALSE(std::filesystem::exists(ignored));
    CHECK(std::filesystem::file_size(out / "results.csv") > 100);
    CHECK_THAT(cringe_test::slurp(out / "results.md"), Catch::Contains("target acc.") && Catch::Contains("valid (greedy / sampled)"));
    // samples.md: the greedy replies behind the numbers, one section per configuration and seed
    CHECK_THAT(cringe_test::slurp(out / "samples.md"), Catch::Contains("## safety baseline") && Catch::Contains(" => "));
    if (std::system("command -v gnuplot >/dev/null 2>&1") == 0)
        for (const char* plot : {"f1_vs_accuracy_safety.png", "f1_vs_accuracy_safety.svg", "rounds_contradiction.png"})
            CHECK(std::filesystem::file_size(out / plot) > 1000);
    // bad arguments are exit status 2
    CHECK(cringe_test::run_command(std::string(CRINGE_REPRO) + " --methods nonsense --quick", "").status == 2);
    CHECK(cringe_test::run_command(std::string(CRINGE_REPRO) + " --seeds x --quick", "").status == 2);
}
