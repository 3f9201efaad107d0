// cringe-repro --quick: the reproduction pipeline end to end (not the science): every output file
// exists and summary.json follows the output contract of docs/reproduction.md; the command's error handling.
#include <regex>

#include "../io/temp_dir.hpp"
#include "../support/testing.hpp"
#include "run_command.hpp"

TEST_CASE("cringe-repro --quick writes summary.json, results.csv, results.md and plots", "[cli][repro]") {
    cringe_test::TempDir tmp;
    // a quote and a command substitution in the path: gnuplot and git run without a shell, so nothing runs
    const auto out = tmp.path() / "it's out $(touch INJECTED) `touch INJECTED2`";
    // two --out options, as `tools/run.sh --out DIR` gives: the last one wins, the first is never created
    const auto ignored = tmp.path() / "ignored";
    auto quoted = [](const std::filesystem::path& p) {  // single-quote for the test's own shell
        std::string q = "'";
        for (char c : p.string()) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return q + "'";
    };
    const auto r = cringe_test::run_command(std::string(CRINGE_REPRO) + " --quick --threads 2 --out " + quoted(ignored) + " --out " + quoted(out), "");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("| cringe_single (α=1) |") && Catch::Contains("## contradiction") && Catch::Contains("Paper vs here") &&
                          Catch::Contains("| CRINGE - baseline | strict greedy accuracy |") && Catch::Contains("### Per seed"));
    for (const auto& p : std::filesystem::recursive_directory_iterator(tmp.path())) CHECK(p.path().filename().string().rfind("INJECTED", 0) != 0);
    CHECK_FALSE(std::filesystem::exists("INJECTED"));
    const auto summary = nlohmann::json::parse(cringe_test::slurp(out / "summary.json"));
    // provenance: commit (or "unknown"), command line, worlds and training parameters, seeds, machine
    const auto& run = summary.at("run");
    CHECK_FALSE(run.at("commit").get<std::string>().empty());
    CHECK(run.at("command_line").size() == 8);  // the program, --quick, --threads 2, two --out DIR
    CHECK(run.at("worlds").at("safety").at("world") == "opener");
    CHECK(run.at("worlds").at("contradiction").at("world") == "opener");
    CHECK(run.at("worlds").at("safety").at("options").at("replay_bad_rate").get<double>() == 0.4);
    // the iterative round's levers per task: the opener tasks' chosen on validation, the fits task's the protocol's
    CHECK(run.at("worlds").at("safety").at("iterate_prompts") == "replay");
    CHECK(run.at("worlds").at("safety").at("positive_repeats") == 1000);
    CHECK(run.at("worlds").at("contradiction").at("iterate_prompts") == "replay");
    CHECK(run.at("worlds").at("contradiction").at("positive_repeats") == 1000);
    CHECK(run.at("worlds").at("fits").at("positive_repeats") == 2);
    CHECK(run.at("worlds").at("fits").at("iterate_prompts") == "d0");
    // --negative-tokens: first (the decision token) for the opener tasks, the paper's all elsewhere
    CHECK(run.at("worlds").at("safety").at("negative_tokens") == "first");
    CHECK(run.at("worlds").at("contradiction").at("negative_tokens") == "first");
    CHECK(run.at("worlds").at("fits").at("negative_tokens") == "all");
    CHECK(run.at("training").at("pretrain_steps").get<int>() == 60);
    CHECK(run.at("seeds") == nlohmann::json::array({1}));
    CHECK(run.at("machine").contains("cpu"));
    // who computed the matrix products (their last bits depend on it): Eigen's GEMM or OpenBLAS
    const std::string products = run.at("machine").at("matrix_products").get<std::string>();
    CHECK((products.rfind("Eigen's own GEMM", 0) == 0 || products.rfind("OpenBLAS core ", 0) == 0));
    CHECK(summary.at("comparisons").size() >= 4);
    CHECK(std::filesystem::file_size(out / "progress.log") > 100);
    {  // the progress count: one job per pretraining and per method, however many records a method gives
        const std::string progress_log = cringe_test::slurp(out / "progress.log");
        std::smatch jobs_line;
        REQUIRE(std::regex_search(progress_log, jobs_line, std::regex("cringe-repro: ([0-9]+) of ([0-9]+) jobs done")));
        CHECK(jobs_line[1].str() == jobs_line[2].str());
    }
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
    // both tasks run their opener worlds: the main methods only (--full adds the sweeps and ablations)
    for (const char* m : {"pretrained", "baseline", "unlikelihood", "cringe_single", "cringe_iterative"})
        CHECK(methods.count(m));
    CHECK(aggregates > 0);
    CHECK_FALSE(std::filesystem::exists(ignored));
    CHECK(std::filesystem::file_size(out / "results.csv") > 100);
    CHECK_THAT(cringe_test::slurp(out / "results.md"), Catch::Contains("target acc.") && Catch::Contains("valid (greedy / sampled)"));
    // samples.md: the greedy replies behind the numbers, one section per configuration and seed
    CHECK_THAT(cringe_test::slurp(out / "samples.md"), Catch::Contains("## safety baseline") && Catch::Contains(" => "));
    if (std::system("command -v gnuplot >/dev/null 2>&1") == 0)
        for (const char* plot : {"f1_vs_accuracy_safety.png", "f1_vs_accuracy_safety.svg", "rounds_contradiction.png", "accuracy_safety.png", "accuracy_contradiction.svg"})
            CHECK(std::filesystem::file_size(out / plot) > 1000);
    // bad arguments are exit status 2
    CHECK(cringe_test::run_command(std::string(CRINGE_REPRO) + " --methods nonsense --quick", "").status == 2);
    CHECK(cringe_test::run_command(std::string(CRINGE_REPRO) + " --seeds x --quick", "").status == 2);
    CHECK(cringe_test::run_command(std::string(CRINGE_REPRO) + " --seeds -1 --quick", "").status == 2);
    // the fits task's pool replays no target prompts: refused before anything trains
    const auto fits_replay = cringe_test::run_command(std::string(CRINGE_REPRO) + " --quick --task fits --iterate-prompts replay", "");
    CHECK(fits_replay.status == 2);
    CHECK_THAT(fits_replay.err, Catch::Contains("--iterate-prompts replay") && Catch::Contains("fits"));
}

TEST_CASE("cringe-repro: numbers out of range, a bad --out and --help", "[cli][repro]") {
    cringe_test::TempDir tmp;
    // a negative step count must not wrap to a huge size_t: exit 2, naming the flag and the range
    for (const char* bad : {"--pretrain-steps -5", "--finetune-steps 0", "--threads 0", "--replay-bad-rate 1.5", "--bootstrap 5", "--label-noise -0.1",
                            "--alphas 0,1", "--alphas 1,x", "--alphas 1,,2", "--iterate-prompts test", "--positive-repeats 0", "--round2-steps -1",
                            "--negative-tokens middle"}) {
        INFO(bad);
        const auto r = cringe_test::run_command(std::string(CRINGE_REPRO) + " --quick " + bad + " --out '" + (tmp.path() / "x").string() + "'", "");
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::Contains(std::string(bad).substr(0, std::string(bad).find(' '))));
    }
    CHECK_FALSE(std::filesystem::exists(tmp.path() / "x"));
    // an --out below a regular file cannot be created: a clear message and exit 2, not an uncaught exception
    { std::ofstream(tmp.path() / "file") << "x"; }
    const auto r = cringe_test::run_command(std::string(CRINGE_REPRO) + " --quick --out '" + (tmp.path() / "file" / "sub").string() + "'", "");
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("--out") && Catch::Contains("cannot create"));
    // a CRINGE_MATRIX_PRODUCTS it does not know: exit 2 naming the variable, before any file (before the
    // check in main, the choice threw outside every handler and the program aborted, status 134)
    const auto bad_products = cringe_test::run_command("CRINGE_MATRIX_PRODUCTS=blas " + std::string(CRINGE_REPRO) + " --quick --out '" +
                                                           (tmp.path() / "y").string() + "'", "");
    CHECK(bad_products.status == 2);
    CHECK_THAT(bad_products.err, Catch::Contains("CRINGE_MATRIX_PRODUCTS is \"blas\"; expected auto, eigen or openblas"));
    CHECK_FALSE(std::filesystem::exists(tmp.path() / "y"));
    // --help: the method names and the defaults
    const auto help = cringe_test::run_command(std::string(CRINGE_REPRO) + " --help", "");
    CHECK(help.status == 0);
    CHECK_THAT(help.out, Catch::Contains("cringe_iterative") && Catch::Contains("pairwise_cringe") && Catch::Contains("1500") &&
                             Catch::Contains("1,2,3,4,5,6,7,8,9,10") && Catch::Contains("opener") && Catch::Contains("--iterate-prompts") &&
                             Catch::Contains("--round2-steps") && Catch::Contains("--alphas") && Catch::Contains("--negative-tokens"));
}

TEST_CASE("cringe-repro: the iterative round's levers and the alpha grid reach the run", "[cli][repro]") {
    cringe_test::TempDir tmp;
    const auto out = tmp.path() / "out";
    const auto r = cringe_test::run_command(std::string(CRINGE_REPRO) + " --quick --task safety --full --alphas 0.25,1 "
                                                "--methods unlikelihood,cringe_iterative --iterate-prompts replay --positive-repeats 50 "
                                                "--round2-steps 5 --negative-tokens first --out '" + out.string() + "'", "");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto summary = nlohmann::json::parse(cringe_test::slurp(out / "summary.json"));
    const auto& training_json = summary.at("run").at("training");
    CHECK(training_json.at("iterate_prompts") == "replay");
    CHECK(training_json.at("positive_repeats") == 50);
    CHECK(training_json.at("round2_steps") == 5);
    CHECK(training_json.at("negative_tokens") == "first");
    std::set<std::pair<std::string, double>> configs;
    for (const auto& rec : summary.at("records")) {
        configs.insert({rec.at("method").get<std::string>(), rec.at("alpha").get<double>()});
        CHECK(rec.at("valid_wellformed").get<double>() >= 0.0);
        CHECK(rec.at("valid_wellformed").get<double>() <= 1.0);
        CHECK(rec.at("valid_ppl").get<double>() > 1.0);  // a perplexity: exp(mean NLL) of good validation replies
    }
    // the grid replaces both sweeps; only CRINGE at alpha 1 runs the second round
    CHECK(configs == std::set<std::pair<std::string, double>>{{"unlikelihood", 0.25}, {"unlikelihood", 1.0}, {"cringe_single", 0.25},
                                                              {"cringe_single", 1.0}, {"cringe_iterative", 1.0}});
    // the round's log line names the prompt source and counts what the checker calls bad
    CHECK_THAT(cringe_test::slurp(out / "progress.log"), Catch::Contains("iterative round: ") && Catch::Contains("prompts (replay)") &&
                                                             Catch::Contains("truly bad"));
}

TEST_CASE("cringe-repro: a run with a subset of methods leaves no empty plot", "[cli][repro]") {
    cringe_test::TempDir tmp;
    const auto out = tmp.path() / "out";
    const auto r = cringe_test::run_command(std::string(CRINGE_REPRO) + " --quick --task safety --methods baseline --out '" + out.string() + "'", "");
    INFO(r.err);
    REQUIRE(r.status == 0);
    for (const auto& p : std::filesystem::directory_iterator(out)) {
        INFO(p.path());
        CHECK(std::filesystem::file_size(p.path()) > 0);
    }
    CHECK_FALSE(std::filesystem::exists(out / "rounds_safety.png"));  // no CRINGE rounds in this run
}
