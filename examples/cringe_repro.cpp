// cringe-repro - reproduces the shape of the CRINGE paper's safety and contradiction results at toy
// scale on one CPU (docs/reproduction.md: the worlds, the protocol and the measured results).
//
//   cringe-repro                       the default: safety in the opener world, 10 seeds, main methods
//   cringe-repro --task fits           the FITS analog (feedback on the bot's own replies, gold F1)
//   cringe-repro --quick               the pipeline end to end in seconds (the test suite runs it)
//   cringe-repro --task all --world classic --seeds 1,2,3 --full     the earlier worlds, every method
#include <CLI/CLI.hpp>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "cringe/detail/gemm.hpp"
#include "repro/report.hpp"
#include "repro/spawn.hpp"

#ifndef CRINGE_SOURCE_DIR
#define CRINGE_SOURCE_DIR ""
#endif

namespace {

/// The commit of the source tree this program was built from, asked of git at run time (no shell);
/// "unknown" when git or the repository is not there. "+dirty" marks uncommitted changes to tracked files.
std::string source_commit() {
    const std::string dir = CRINGE_SOURCE_DIR;
    if (dir.empty()) return "unknown";
    const auto head = repro::spawn_capture({"git", "-C", dir, "rev-parse", "HEAD"});
    if (!head.started || head.status != 0 || head.out.size() < 40) return "unknown";
    const std::string commit = head.out.substr(0, 40);
    const auto status = repro::spawn_capture({"git", "-C", dir, "status", "--porcelain", "--untracked-files=no"});
    return commit + (status.started && status.status == 0 && !status.out.empty() ? "+dirty" : "");
}

/// The CPU model (first "model name" of /proc/cpuinfo), or "unknown".
std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
        }
    return "unknown";
}

/// "1,2,3" -> {1, 2, 3}; only digits and commas (a "-1" must not wrap to 2^64 - 1).
bool parse_seeds(const std::string& text, std::vector<std::uint64_t>& seeds) {
    std::stringstream ss(text);
    for (std::string s; std::getline(ss, s, ',');) {
        if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return false;
        seeds.push_back(std::stoull(s));
    }
    return !seeds.empty();
}

/// "0.25,0.5,1" -> {0.25, 0.5, 1}: finite positive numbers, each written whole, at most 100 of them.
bool parse_alphas(const std::string& text, std::vector<double>& alphas) {
    std::stringstream ss(text);
    for (std::string s; std::getline(ss, s, ',');) {
        if (s.empty() || s.size() > 24 || s.find_first_not_of("0123456789.eE+-") != std::string::npos) return false;
        std::size_t used = 0;
        double value = 0;
        try {
            value = std::stod(s, &used);
        } catch (const std::exception&) {
            return false;
        }
        if (used != s.size() || !std::isfinite(value) || value <= 0 || alphas.size() >= 100) return false;
        alphas.push_back(value);
    }
    return !alphas.empty();
}

}  // namespace

int main(int argc, char** argv) {
    using namespace repro;
    const Settings defaults;
    CLI::App app{"cringe-repro: the CRINGE paper's experiments at toy scale (docs/reproduction.md)"};
    std::string task = "safety", world = "opener", methods_arg, seeds_arg = "1,2,3,4,5,6,7,8,9,10", out_dir = "repro-out";
    bool quick = false, full = false;
    std::size_t threads = std::min<std::size_t>(2, std::max(1u, std::thread::hardware_concurrency()));
    std::size_t bootstrap = 2000;
    Settings settings;
    app.footer(cat("Methods (--methods): pretrained, baseline, unlikelihood, cringe_single, cringe_iterative (= cringe_single with a 2nd round), "
                   "pairwise_cringe, sigmoid_only, cringe_k1, cringe_detached, cringe_separate.\n"
                   "Default run: the opener world's main methods (pretrained, baseline, unlikelihood and cringe_single at alpha 1, "
                   "cringe_iterative 2 rounds; in the safety task its round 2 samples for the pool's insults and trains 100 steps); --full adds the alpha sweeps (UL 0.1/0.5/1/5, CRINGE 0.5/1/2/5) and the ablations. "
                   "The classic worlds run every method. The fits task runs the same main methods as the opener world (pretrained is the "
                   "paper's BB2 row); its D0 is the pretrained model's own sampled replies, labelled by the checker (5 % flips), plus gold replies.\n"));
    app.add_option("--task", task, "safety, contradiction, fits (the FITS analog: knowledge prompts, feedback on the bot's own replies, gold F1 "
                                   "on valid / test / test-unseen) or all (the three)")
        ->check(CLI::IsMember({"safety", "contradiction", "fits", "all"}))->capture_default_str();
    app.add_option("--world", world, "the worlds of safety and contradiction: opener (decision first + replay, the default) or classic "
                                     "(the earlier template worlds); fits has one world")
        ->check(CLI::IsMember({"opener", "classic"}))->capture_default_str();
    app.add_option("--seeds", seeds_arg, "comma-separated seeds (each: its own world, model init and sampling)")->capture_default_str();
    app.add_option("--methods", methods_arg, "comma-separated method names (default: the world's main methods; see below)");
    app.add_flag("--full", full, "every method: alpha sweeps and ablations too (several times longer)");
    app.add_flag("--quick", quick, "a small end-to-end run (seconds): checks the pipeline, not the science");
    // TakeLast: tools/run.sh passes --out repro-out first, so a user's own --out wins
    app.add_option("--out", out_dir, "output directory")->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)->capture_default_str();
    app.add_option("--threads", threads, "worker threads: seeds in parallel (methods, when fewer seeds than threads); results do not depend on it")->check(CLI::Range(1, 64))->capture_default_str();
    app.add_option("--pretrain-steps", settings.pretrain_steps, "pretraining steps (the fits task: 1000 unless given)")->check(CLI::Range(1, 1000000))->capture_default_str();
    app.add_option("--finetune-steps", settings.finetune_steps, "fine-tuning steps per round (the classic worlds and the fits task: 300 unless given)")->check(CLI::Range(1, 1000000))->capture_default_str();
    app.add_option("--replay-bad-rate", settings.world.replay_bad_rate,
                   "opener world lever: bad-reply rate of the target dialogues replayed in the unlabeled pool (defaults, chosen on validation: "
                   "safety 0.4, contradiction 0.3); fits world: bad-reply rate of the unlabeled knowledge dialogues (default 0.5)")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--replay-share", settings.world.replay_share, "opener world lever: share of the unlabeled pool replaying target dialogues (default 0.4); "
                                                                                     "fits world: share of knowledge dialogues in the unlabeled pool (default 0.5)")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--pretrain-bad-rate", settings.world.pretrain_bad_rate,
                   "world lever: bad-reply rate of pretraining's target dialogues (defaults: opener safety 0.7, opener contradiction 0.5, classic 0.5 / 0.25)")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--samples-per-prompt", settings.samples_per_prompt, "iterative round: sampled replies per D0 prompt")
        ->check(CLI::Range(1, 64))->capture_default_str();
    app.add_option("--iterate-prompts", settings.iterate_prompts,
                   "iterative round: whose prompts round 2 samples replies for: d0 (D0's negative prompts, training groups), replay (the "
                   "unlabeled pool's target prompts, every group) or none (nothing added: the same-step control). Default: replay for the "
                   "opener safety and contradiction tasks (chosen on validation seeds), d0 elsewhere")
        ->check(CLI::IsMember({"d0", "replay", "none"}));
    app.add_option("--positive-repeats", settings.positive_repeats,
                   "iterative round: each positive reply text kept at most this often before the 50/50 balance (the balance keeps as many "
                   "negatives as positives, so this caps the negatives added too). Default: 1000 for the opener safety and contradiction tasks, 2 elsewhere")
        ->check(CLI::Range(1, 1000000));
    app.add_option("--round2-steps", settings.round2_steps, "fine-tuning steps of the iterative round 2 (0: --finetune-steps). Default: 100 for "
                                                            "the opener safety and contradiction tasks, 0 elsewhere")
        ->check(CLI::Range(0, 1000000));
    std::string alphas_arg;
    app.add_option("--alphas", alphas_arg, "with --full: the alpha grid of both sweeps, comma-separated (default: unlikelihood 0.1,0.5,1,5; "
                                           "CRINGE 0.5,1,2,5); CRINGE at alpha 1 also runs the iterative round");
    app.add_option("--label-noise", settings.label_noise, "iterative round: the training labeler's flip rate")->check(CLI::Range(0.0, 1.0))->capture_default_str();
    app.add_option("--bootstrap", bootstrap, "bootstrap replicates of the paired intervals")->check(CLI::Range(100, 100000))->capture_default_str();
    app.add_option("--positive-target-share", settings.positive_target_share,
                   "classic data lever: share of D0's positives that answer a target prompt (the rest are ordinary dialogues)")
        ->check(CLI::Range(0.0, 1.0))->capture_default_str();
    app.add_flag("--token-level", settings.token_level, "label D0's negatives per token: only the bad words are negative");
    app.add_flag("--token-level-ce-rest", settings.token_level_ce_rest, "with --token-level: train the rest of a bad reply with CE (default: ignore it)");
    bool no_negative_eos = false;
    app.add_flag("--no-negative-eos", no_negative_eos, "data lever: the EOS of a negative reply is not a negative target");
    app.add_option("--negative-tokens", settings.negative_tokens,
                   "data lever: which tokens of a negative reply are negative targets: all (the paper's sequence labels) or first (only "
                   "the first reply token, where the opener worlds put the bad decision; the rest is ignored). Every loss but pairwise CRINGE. "
                   "Default: first for the opener safety and contradiction tasks (chosen on validation seeds), all elsewhere")
        ->check(CLI::IsMember({"all", "first"}));
    bool unseen = false;
    app.add_flag("--heldout-unseen", unseen, "classic world lever: held-out target templates never appear in pretraining");
    app.add_option("--shared-frame", settings.world.negative_shared_frame, "classic world lever: share of bad replies built on a good reply's frame (default 0.5)")
        ->check(CLI::Range(0.0, 1.0));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    settings.threads = threads;
    settings.negative_eos = !no_negative_eos;
    settings.world.heldout_in_pretrain = !unseen;
    std::vector<double> ul_alphas = {0.1, 0.5, 1.0, 5.0}, cringe_alphas = {0.5, 1.0, 2.0, 5.0};
    if (!alphas_arg.empty()) {
        std::vector<double> grid;
        if (!parse_alphas(alphas_arg, grid)) {
            std::cerr << "cringe-repro: --alphas '" << alphas_arg << "' is not a comma-separated list of positive numbers (at most 100)\n";
            return 2;
        }
        ul_alphas = cringe_alphas = grid;
    }
    std::vector<std::uint64_t> seeds;
    if (!parse_seeds(seeds_arg, seeds)) {
        std::cerr << "cringe-repro: --seeds '" << seeds_arg << "' is not a comma-separated list of non-negative integers (at most 18 digits each)\n";
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
        settings.world.eval_valid_target = 24;
        settings.world.eval_ordinary = 16;
        settings.world.eval_unseen = 16;
        settings.beam_prompts = 4;
        settings.samples_per_prompt = 1;
        if (!app.count("--seeds")) seeds = {1};
        if (!app.count("--task")) task = "all";
    }
    const std::vector<std::string> tasks = task == "all" ? std::vector<std::string>{"safety", "contradiction", "fits"} : std::vector<std::string>{task};
    if (settings.iterate_prompts == "replay" && std::ranges::count(tasks, "fits")) {
        std::cerr << "cringe-repro: --iterate-prompts replay: the fits task's unlabeled pool replays no target prompts; run it with "
                     "--task safety or --task contradiction\n";
        return 2;
    }
    // The methods of each task: the opener world's main table, or every method (classic worlds, --full).
    auto methods_for = [&](const std::string& t) {
        const bool main_table = (world == "opener" && (t == "safety" || t == "contradiction")) || t == "fits";
        std::vector<Method> methods = main_table && !full ? opener_methods() : all_methods(ul_alphas, cringe_alphas);
        if (quick && !full) std::erase_if(methods, [](const Method& m) { return !m.main || m.name == "cringe_k1" || m.name == "cringe_detached"; });
        return methods;
    };
    std::set<std::string> wanted;
    if (!methods_arg.empty()) {
        std::stringstream ss(methods_arg);
        for (std::string s; std::getline(ss, s, ',');) wanted.insert(s);
        std::set<std::string> known = {"cringe_iterative"};
        for (const auto& m : all_methods()) known.insert(m.name);
        for (const auto& w : wanted)
            if (!known.count(w)) {
                std::cerr << "cringe-repro: --methods: unknown method '" << w << "'; expected some of:";
                for (const auto& k : known) std::cerr << " " << k;
                std::cerr << "\n";
                return 2;
            }
        if (wanted.count("cringe_iterative")) wanted.insert("cringe_single");
    }
    auto selected = [&](const std::string& t) {
        std::vector<Method> methods = methods_for(t);
        if (!wanted.empty()) {
            if (!full) {  // a named ablation outside the default list still runs
                for (const auto& m : all_methods())
                    if (m.main && wanted.count(m.name) && std::ranges::none_of(methods, [&](const Method& x) { return x.name == m.name; }))
                        methods.push_back(m);
            }
            std::erase_if(methods, [&](const Method& m) { return !wanted.count(m.name); });
            for (auto& m : methods)
                if (m.name == "cringe_single" && !wanted.count("cringe_iterative")) m.rounds = 1;
        }
        return methods;
    };

    // CRINGE_MATRIX_PRODUCTS chooses who computes the matrix products (detail/gemm.hpp); a value it does
    // not know is an input error, reported before any work or file (exit 2), never from a worker thread.
    try {
        (void)cringe::detail::product_choice();
    } catch (const cringe::Error& e) {
        std::cerr << "cringe-repro: " << e.what() << "\n";
        return 2;
    }
    // The output directory: a clear error (exit 2) when it cannot be made.
    {
        std::error_code ec;
        std::filesystem::create_directories(out_dir, ec);
        if (ec || !std::filesystem::is_directory(out_dir)) {
            std::cerr << "cringe-repro: --out '" << out_dir << "': cannot create the output directory"
                      << (ec ? ": " + ec.message() : std::string(": a file of that name exists")) << "\n";
            return 2;
        }
    }
    std::ofstream log_file(std::filesystem::path(out_dir) / "progress.log", std::ios::trunc);
    if (!log_file) {
        std::cerr << "cringe-repro: --out '" << out_dir << "': cannot write progress.log there\n";
        return 2;
    }
    const auto start = std::chrono::steady_clock::now();
    std::mutex log_lock;
    auto log = [&](const std::string& line) {
        const int s = static_cast<int>(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        char stamp[32];
        std::snprintf(stamp, sizeof stamp, "[%02d:%02d] ", s / 60, s % 60);
        std::lock_guard<std::mutex> guard(log_lock);
        std::cerr << stamp << line << "\n" << std::flush;
        log_file << stamp << line << "\n" << std::flush;
    };
    settings.log = log;

    const std::string commit = source_commit();  // at start: the tree the run began from, not where it ended
    std::vector<std::string> command;
    for (int i = 0; i < argc; ++i) command.emplace_back(argv[i]);
    std::size_t total_jobs = 0;
    std::atomic<std::size_t> done_jobs{0};
    for (const auto& t : tasks) total_jobs += seeds.size() * (1 + selected(t).size());  // pretraining + one job per method
    std::string seed_list;
    for (auto s : seeds) seed_list += (seed_list.empty() ? "" : ",") + std::to_string(s);
    log(cat("cringe-repro: tasks ", task, ", world ", world, ", seeds ", seed_list, ", ", threads, " thread(s); output in ", out_dir,
            " (progress also in progress.log)"));
    // The kernel sets the last bits of every product, so it belongs to the record of a run.
    log(cat("cringe-repro: matrix products by ", cringe::detail::describe_matrix_products()));

    // Heartbeat: a progress line at least every 10 s while the work runs.
    std::atomic<bool> finished{false};
    std::mutex beat_lock;
    std::condition_variable beat;
    std::thread heartbeat([&] {
        std::unique_lock<std::mutex> lock(beat_lock);
        while (!beat.wait_for(lock, std::chrono::seconds(10), [&] { return finished.load(); }))
            log(cat("  ... working: ", activity().describe(), " (", done_jobs.load(), " of ", total_jobs, " jobs done)"));
    });
    auto stop_heartbeat = [&] {
        {
            std::lock_guard<std::mutex> guard(beat_lock);
            finished = true;
        }
        beat.notify_all();
        if (heartbeat.joinable()) heartbeat.join();
    };

    try {
        std::vector<Record> records;
        nlohmann::ordered_json world_info = nlohmann::ordered_json::object();
        auto report = [&](const Record& r) {
            char line[512];
            std::snprintf(line, sizeof line,
                          "  %-13s %-16s a=%-4g round %d seed %llu: target acc %.3f (valid %.3f, valid well-formed %.3f, beam %.3f, sampled %.3f, well-formed %.3f) margin %.2f F1 %.3f ppl %.3f (valid %.3f)  [%.1f s]",
                          r.task.c_str(), r.method.name.c_str(), r.method.alpha, r.round, static_cast<unsigned long long>(r.seed), r.metrics.target_accuracy,
                          r.metrics.valid_accuracy, r.metrics.valid_wellformed, r.metrics.target_accuracy_beam, r.metrics.target_accuracy_sampled, r.metrics.wellformed,
                          r.metrics.margin, r.metrics.f1, r.metrics.ppl, r.metrics.valid_ppl, r.seconds);
            log(line);
        };
        for (const auto& t : tasks) {
            const auto methods = selected(t);
            const bool fits = t == "fits";
            const bool opener = world == "opener" && !fits;
            using namespace repro::world;
            world_info[t] = {{"world", fits ? "fits" : opener ? "opener" : "classic"},
                             {"finetune_steps", !opener && !quick && !app.count("--finetune-steps") ? std::size_t{300} : settings.finetune_steps},
                             {"pretrain_steps", fits && !quick && !app.count("--pretrain-steps") ? std::size_t{1000} : settings.pretrain_steps},
                             {"options", fits ? options_json(resolve_options<FitsWorld>(settings))
                                         : options_json(t == "safety" ? (opener ? resolve_options<OpenerSafetyWorld>(settings) : resolve_options<SafetyWorld>(settings))
                                                                      : (opener ? resolve_options<OpenerContradictionWorld>(settings)
                                                                                : resolve_options<ContradictionWorld>(settings)))}};
            // Seeds run in parallel (one thread each) when there are at least as many seeds as threads,
            // so pretraining keeps every core busy; otherwise one seed at a time, its methods in parallel.
            // Every job is seeded by (seed, method), so the results do not depend on the split.
            const std::size_t workers = std::min(threads, seeds.size());
            Settings per_seed = settings;
            // The classic worlds keep the fine-tuning length their documented results used (300 steps).
            if (!opener && !fits && !quick && !app.count("--finetune-steps")) per_seed.finetune_steps = 300;
            // The FITS analog is smaller, to fit the default run: 1000 pretraining and 300 fine-tuning steps.
            if (fits && !quick && !app.count("--pretrain-steps")) per_seed.pretrain_steps = 1000;
            if (fits && !quick && !app.count("--finetune-steps")) per_seed.finetune_steps = 300;
            // The opener tasks' iterative round: the levers chosen on validation seeds 101-102 for safety
            // (docs/reproduction.md, "Levers of the iterative round") and 101-106 for contradiction (with
            // --negative-tokens first): sample for the unlabeled pool's target prompts (every group),
            // keep every labelled reply up to the 50/50 balance, and train round 2 for 100 steps
            // (longer training erodes the transfer to the held-out groups).
            if (opener && (t == "safety" || t == "contradiction")) {
                if (!app.count("--iterate-prompts")) per_seed.iterate_prompts = "replay";
                if (!app.count("--positive-repeats")) per_seed.positive_repeats = 1000;
                if (!app.count("--round2-steps") && !quick) per_seed.round2_steps = 100;
                // Only the first reply token of a negative is a negative target (docs/reproduction.md,
                // "Levers for the two quality misses" and its contradiction counterpart): the decision;
                // chosen on validation seeds 101-106.
                if (!app.count("--negative-tokens")) per_seed.negative_tokens = "first";
            }
            world_info[t]["negative_tokens"] = per_seed.negative_tokens;
            world_info[t]["iterate_prompts"] = per_seed.iterate_prompts;
            world_info[t]["positive_repeats"] = per_seed.positive_repeats;
            world_info[t]["round2_steps"] = per_seed.round2_steps ? per_seed.round2_steps : per_seed.finetune_steps;
            per_seed.threads = std::max<std::size_t>(1, threads / workers);
            if (workers > 1) per_seed.progress = false;
            std::mutex records_lock;
            std::atomic<std::size_t> next_seed{0};
            std::exception_ptr failure;
            auto worker = [&] {
                for (std::size_t i = next_seed++; i < seeds.size(); i = next_seed++) {
                    try {
                        const auto seed = seeds[i];
                        auto on_job_done = [&] { ++done_jobs; };
                        const auto out = fits ? run_task<FitsWorld>(t, seed, methods, per_seed, report, on_job_done)
                                       : t == "safety" ? (opener ? run_task<OpenerSafetyWorld>(t, seed, methods, per_seed, report, on_job_done)
                                                                 : run_task<SafetyWorld>(t, seed, methods, per_seed, report, on_job_done))
                                                       : (opener ? run_task<OpenerContradictionWorld>(t, seed, methods, per_seed, report, on_job_done)
                                                                 : run_task<ContradictionWorld>(t, seed, methods, per_seed, report, on_job_done));
                        std::lock_guard<std::mutex> guard(records_lock);
                        records.insert(records.end(), out.begin(), out.end());
                    } catch (...) {
                        std::lock_guard<std::mutex> guard(records_lock);
                        if (!failure) failure = std::current_exception();
                    }
                }
            };
            std::vector<std::thread> pool;
            for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(worker);
            worker();
            for (auto& th : pool) th.join();
            if (failure) std::rethrow_exception(failure);
        }
        stop_heartbeat();
        log(cat("cringe-repro: ", done_jobs.load(), " of ", total_jobs, " jobs done"));
        // Records arrive in thread order; sort them so the outputs do not depend on --threads.
        std::ranges::stable_sort(records, [](const Record& a, const Record& b) {
            return std::tuple(a.task, a.seed, method_rank(a.method.name), a.method.alpha, a.method.k, a.round) <
                   std::tuple(b.task, b.seed, method_rank(b.method.name), b.method.alpha, b.method.k, b.round);
        });
        auto aggregates = aggregate(records);
        select_main_alpha(aggregates, records);
        log("computing the paired bootstrap intervals ...");
        const auto comparisons = compare_methods(records, tasks, bootstrap);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        nlohmann::ordered_json info = {
            {"commit", commit},
            {"command_line", command},
            {"quick", quick},
            {"full", full},
            {"tasks", tasks},
            {"seeds", seeds},
            {"methods", methods_arg.empty() ? "default" : methods_arg},
            {"worlds", world_info},
            {"training", settings_json(settings)},
            {"bootstrap", {{"replicates", bootstrap}, {"seed", kBootstrapSeed}, {"interval", "95 % percentile, seeds then prompts resampled"}}},
            {"machine", {{"cpu", cpu_model()}, {"hardware_threads", std::thread::hardware_concurrency()}, {"threads", threads},
                         {"openblas_num_threads", std::getenv("OPENBLAS_NUM_THREADS") ? std::getenv("OPENBLAS_NUM_THREADS") : "unset"},
                         {"matrix_products", cringe::detail::describe_matrix_products()}}},
            {"seconds", seconds}};
        write_summary(out_dir, records, aggregates, comparisons, info);
        const std::string tables = markdown_report(aggregates, records, comparisons, tasks, seed_list, world);
        cringe::io::write_file_atomically(std::filesystem::path(out_dir) / "results.md", tables);
        std::string samples = "# cringe-repro: greedy replies to the first test target prompts\n";
        for (const auto& r : records) {
            samples += cat("\n## ", r.task, " ", r.method.name, " a=", r.method.alpha, " k=", r.method.k, " round ", r.round, " seed ", r.seed, "\n\n");
            for (const auto& e : r.metrics.examples) samples += "    " + e + "\n";
        }
        cringe::io::write_file_atomically(std::filesystem::path(out_dir) / "samples.md", samples);
        std::string why;
        const bool plotted = plot(out_dir, aggregates, tasks, why);
        std::cout << tables << "\n";
        log(cat("wrote ", out_dir, "/summary.json, results.csv, results.md, samples.md, progress.log", plotted ? ", plots (PNG and SVG)" : "", " in ",
                static_cast<int>(seconds), " s"));
        if (!plotted) log("cringe-repro: no plots: " + why);
        return 0;
    } catch (const cringe::Error& e) {
        stop_heartbeat();
        log(cat("cringe-repro: ", e.what()));
        return 2;
    } catch (const std::exception& e) {
        stop_heartbeat();
        log(cat("cringe-repro: ", e.what()));
        return 2;
    }
}
