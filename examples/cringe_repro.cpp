// cringe-repro - reproduces the shape of the CRINGE paper's safety and contradiction results at toy
// scale on one CPU (shared spec reproduction.md sections 9-11; results in docs/reproduction.md).
//
//   cringe-repro                       3 seeds, both tasks, every method (~8 minutes on 2 cores)
//   cringe-repro --quick               the pipeline end to end in seconds (the test suite runs it)
//   cringe-repro --task safety --seeds 1,2 --methods baseline,cringe_single --out results/
#include <CLI/CLI.hpp>

#include <iostream>
#include <set>
#include <thread>

#include "repro/report.hpp"

int main(int argc, char** argv) {
    using namespace repro;
    CLI::App app{"cringe-repro: the CRINGE paper's ablations at toy scale"};
    std::string task = "all", methods_arg, seeds_arg = "1,2,3", out_dir = "repro-out";
    bool quick = false;
    std::size_t threads = std::min<std::size_t>(2, std::max(1u, std::thread::hardware_concurrency()));
    Settings settings;
    app.add_option("--task", task, "safety, contradiction or all")->check(CLI::IsMember({"safety", "contradiction", "all"}));
    app.add_option("--seeds", seeds_arg, "comma-separated seeds (each: its own world, model init and sampling)");
    app.add_option("--methods", methods_arg, "comma-separated method names (default: all)");
    app.add_flag("--quick", quick, "a small end-to-end run (seconds): checks the pipeline, not the science");
    // TakeLast: tools/run.sh passes --out repro-out first, so a user's own --out wins
    app.add_option("--out", out_dir, "output directory")->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--threads", threads, "methods trained in parallel")->check(CLI::Range(1, 64));
    app.add_option("--pretrain-steps", settings.pretrain_steps, "pretraining steps");
    app.add_option("--finetune-steps", settings.finetune_steps, "fine-tuning steps per round");
    app.add_option("--positive-target-share", settings.positive_target_share,
                   "data lever: share of D0's positives that answer a target prompt (the rest are ordinary dialogues)")->check(CLI::Range(0.0, 1.0));
    app.add_flag("--token-level", settings.token_level, "label D0's negatives per token: only the bad words are negative");
    app.add_flag("--token-level-ce-rest", settings.token_level_ce_rest, "with --token-level: train the rest of a bad reply with CE (default: ignore it)");
    bool no_negative_eos = false;
    app.add_flag("--no-negative-eos", no_negative_eos, "data lever: the EOS of a negative reply is not a negative target");
    bool unseen = false;
    app.add_flag("--heldout-unseen", unseen, "world lever: held-out target templates never appear in pretraining");
    app.add_option("--shared-frame", settings.world.negative_shared_frame, "world lever: share of bad replies built on a good reply's frame (0..1)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    settings.threads = threads;
    settings.negative_eos = !no_negative_eos;
    settings.world.heldout_in_pretrain = !unseen;
    std::vector<Method> methods = all_methods();
    std::vector<std::uint64_t> seeds;
    try {
        std::stringstream ss(seeds_arg);
        for (std::string s; std::getline(ss, s, ',');) seeds.push_back(std::stoull(s));
    } catch (const std::exception&) {
        std::cerr << "cringe-repro: --seeds '" << seeds_arg << "' is not a comma-separated list of non-negative integers\n";
        return 2;
    }
    if (quick) {
        settings.n_embd = 32;
        settings.n_layer = 1;
        settings.n_head = 2;
        settings.pretrain_steps = app.count("--pretrain-steps") ? settings.pretrain_steps : 60;
        settings.finetune_steps = app.count("--finetune-steps") ? settings.finetune_steps : 15;
        settings.batch = 16;
        settings.world.pretrain = 600;
        settings.world.labeled = 120;
        settings.world.unlabeled = 120;
        settings.world.eval_target = 24;
        settings.world.eval_ordinary = 16;
        settings.beam_prompts = 4;
        settings.samples_per_prompt = 1;
        if (!app.count("--seeds")) seeds = {1};
        std::erase_if(methods, [](const Method& m) { return !m.main || m.name == "cringe_k1" || m.name == "cringe_detached"; });
    }
    if (!methods_arg.empty()) {
        std::set<std::string> wanted;
        std::stringstream ss(methods_arg);
        for (std::string s; std::getline(ss, s, ',');) wanted.insert(s);
        std::set<std::string> known;
        for (const auto& m : methods) known.insert(m.name);
        known.insert("cringe_iterative");
        for (const auto& w : wanted)
            if (!known.count(w)) {
                std::cerr << "cringe-repro: --methods: unknown method '" << w << "'\n";
                return 2;
            }
        if (wanted.count("cringe_iterative")) wanted.insert("cringe_single");
        std::erase_if(methods, [&](const Method& m) { return !wanted.count(m.name); });
    }
    const std::vector<std::string> tasks = task == "all" ? std::vector<std::string>{"safety", "contradiction"} : std::vector<std::string>{task};
    try {
        std::filesystem::create_directories(out_dir);
        const auto start = std::chrono::steady_clock::now();
        std::vector<Record> records;
        auto report = [&](const Record& r) {
            std::fprintf(stderr, "  %-13s %-16s a=%-4g round %d seed %llu: target acc %.3f (beam %.3f, sampled %.3f, lenient %.3f, well-formed %.3f) F1 %.3f ppl %.2f  [%.1f s]\n",
                         r.task.c_str(), r.method.name.c_str(), r.method.alpha, r.round, static_cast<unsigned long long>(r.seed),
                         r.metrics.target_accuracy, r.metrics.target_accuracy_beam, r.metrics.target_accuracy_sampled, r.metrics.target_accuracy_lenient, r.metrics.wellformed,
                         r.metrics.f1, r.metrics.ppl, r.seconds);
        };
        for (const auto& t : tasks)
            for (auto seed : seeds) {
                const auto out = t == "safety" ? run_task<cringe::data::SafetyWorld>(t, seed, methods, settings, report)
                                               : run_task<cringe::data::ContradictionWorld>(t, seed, methods, settings, report);
                records.insert(records.end(), out.begin(), out.end());
            }
        auto aggregates = aggregate(records);
        select_main_alpha(aggregates, records);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        nlohmann::ordered_json info = {{"quick", quick}, {"seeds", seeds}, {"tasks", tasks}, {"threads", threads},
                                       {"pretrain_steps", settings.pretrain_steps}, {"finetune_steps", settings.finetune_steps},
                                       {"batch", settings.batch}, {"n_embd", settings.n_embd}, {"n_layer", settings.n_layer}, {"seconds", seconds}};
        write_summary(out_dir, records, aggregates, info);
        const std::string tables = markdown_tables(aggregates, tasks);
        cringe::io::write_file_atomically(std::filesystem::path(out_dir) / "results.md",
                                          "# cringe-repro results\n\nMean ± sample std over seeds " + seeds_arg + ". Metrics on held-out test prompts; "
                                          "target accuracy is STRICT (well-formed AND safe/consistent).\n" + tables);
        std::string samples = "# cringe-repro: greedy replies to the first test target prompts\n";
        for (const auto& r : records) {
            samples += cat("\n## ", r.task, " ", r.method.name, " a=", r.method.alpha, " k=", r.method.k, " round ", r.round, " seed ", r.seed, "\n\n");
            for (const auto& e : r.metrics.examples) samples += "    " + e + "\n";
        }
        cringe::io::write_file_atomically(std::filesystem::path(out_dir) / "samples.md", samples);
        std::string why;
        const bool plotted = plot(out_dir, aggregates, tasks, why);
        std::cout << tables << "\n";
        std::cout << "wrote " << out_dir << "/summary.json, results.csv, results.md, samples.md" << (plotted ? ", plots (PNG and SVG)" : "") << " in "
                  << static_cast<int>(seconds) << " s\n";
        if (!plotted) std::cerr << "cringe-repro: no plots: " << why << "\n";
        return 0;
    } catch (const cringe::Error& e) {
        std::cerr << "cringe-repro: " << e.what() << "\n";
        return 2;
    }
}
