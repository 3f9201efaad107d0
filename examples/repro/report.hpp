// examples/repro/report.hpp - the reproduction's outputs: summary.json, results.csv, results.md
// (paper vs here, per-seed table, paired intervals, every configuration) and gnuplot plots (PNG and
// SVG; gnuplot runs without a shell, in the output directory, on a script with fixed file names).
#pragma once

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include <cringe/io/atomic_file.hpp>

#include "experiment.hpp"
#include "spawn.hpp"
#include "stats.hpp"

namespace repro {

struct Aggregate {
    std::string task;
    Method method;
    int round = 1;
    std::size_t n = 0;
    Metrics mean, stddev;
};

inline std::string config_key(const Record& r) {
    return cringe::cat(r.task, "|", r.method.name, "|", r.method.alpha, "|", r.method.k, "|", r.round);
}

inline std::vector<Aggregate> aggregate(const std::vector<Record>& records) {
    std::map<std::string, std::vector<const Record*>> groups;
    std::vector<std::string> order;
    for (const auto& r : records) {
        auto& g = groups[config_key(r)];
        if (g.empty()) order.push_back(config_key(r));
        g.push_back(&r);
    }
    std::vector<Aggregate> out;
    for (const auto& key : order) {
        const auto& g = groups[key];
        Aggregate a{g[0]->task, g[0]->method, g[0]->round, g.size(), {}, {}};
        auto stat = [&](double Metrics::*field) {
            double sum = 0, sq = 0;
            for (const Record* r : g) sum += r->metrics.*field;
            const double mean = sum / static_cast<double>(g.size());
            for (const Record* r : g) sq += std::pow(r->metrics.*field - mean, 2);
            a.mean.*field = mean;
            a.stddev.*field = g.size() > 1 ? std::sqrt(sq / static_cast<double>(g.size() - 1)) : 0.0;  // sample std
        };
        for (auto field : {&Metrics::target_accuracy, &Metrics::target_accuracy_beam, &Metrics::target_accuracy_sampled, &Metrics::target_accuracy_lenient, &Metrics::wellformed,
                           &Metrics::f1, &Metrics::ppl, &Metrics::valid_ppl, &Metrics::distinct2, &Metrics::neg_nll, &Metrics::valid_accuracy,
                           &Metrics::valid_accuracy_sampled, &Metrics::valid_wellformed, &Metrics::margin, &Metrics::valid_margin, &Metrics::f1_valid, &Metrics::f1_test,
                           &Metrics::f1_unseen})
            stat(field);
        out.push_back(a);
    }
    return out;
}

/// The main table's alpha for the swept methods (unlikelihood, single-round CRINGE), chosen per task on
/// the VALIDATION prompts (docs/reproduction.md, "Protocol"): the highest mean strict greedy accuracy, ties
/// broken by the sampled one, remaining ties by the spec default alpha = 1. Marks `main` on the
/// aggregates and on the per-seed records. cringe_iterative always continues from alpha = 1 (only that
/// configuration runs a second round), whatever alpha single-round CRINGE gets.
inline void select_main_alpha(std::vector<Aggregate>& aggregates, std::vector<Record>& records) {
    std::map<std::string, std::string> chosen;  // task|method -> config key of the chosen aggregate
    for (const char* name : {"unlikelihood", "cringe_single"}) {
        std::map<std::string, const Aggregate*> best;
        for (const auto& a : aggregates) {
            if (a.method.name != name || a.round != 1) continue;
            const Aggregate*& b = best[a.task];
            auto rank = [](const Aggregate& x) {
                // the FITS task's quality is gold F1: its alpha is chosen on the validation split's F1
                const double primary = std::isnan(x.mean.f1_valid) ? x.mean.valid_accuracy : x.mean.f1_valid;
                return std::tuple(primary, x.mean.valid_accuracy, x.mean.valid_accuracy_sampled, x.method.alpha == 1.0);
            };
            if (!b || rank(a) > rank(*b)) b = &a;
        }
        for (const auto& [task, a] : best) chosen[task + "|" + name] = config_key(Record{a->task, a->method, 0, a->round, {}, 0});
    }
    auto mark = [&](const std::string& task, Method& m, int round, const std::string& key) {
        if ((m.name != "unlikelihood" && m.name != "cringe_single") || round != 1) return;
        if (auto it = chosen.find(task + "|" + m.name); it != chosen.end()) m.main = it->second == key;
    };
    for (auto& a : aggregates) mark(a.task, a.method, a.round, config_key(Record{a.task, a.method, 0, a.round, {}, 0}));
    for (auto& r : records) mark(r.task, r.method, r.round, config_key(r));
}

inline nlohmann::ordered_json metrics_json(const Metrics& m) {
    return {{"target_accuracy", m.target_accuracy}, {"target_accuracy_beam", m.target_accuracy_beam},
            {"target_accuracy_sampled", m.target_accuracy_sampled},
            {"target_accuracy_lenient", m.target_accuracy_lenient}, {"wellformed", m.wellformed}, {"f1", m.f1},
            {"ppl", m.ppl}, {"distinct2", m.distinct2}, {"neg_nll", m.neg_nll},
            {"valid_accuracy", m.valid_accuracy}, {"valid_accuracy_sampled", m.valid_accuracy_sampled},
            {"valid_wellformed", m.valid_wellformed}, {"valid_ppl", m.valid_ppl},
            // NaN (no margin in this world) is written as null
            {"first_token_margin", m.margin}, {"valid_first_token_margin", m.valid_margin},
            // FITS task: gold F1 per split (f1 is then their paper-weighted average); null elsewhere
            {"f1_valid", m.f1_valid}, {"f1_test", m.f1_test}, {"f1_test_unseen", m.f1_unseen}};
}

inline constexpr std::uint64_t kBootstrapSeed = 20221110;

/// The FITS task's paired metric: gold F1 per prompt over test and test-unseen (in the paper's proportions).
inline constexpr const char* kGoldF1Metric = "gold F1 (test + test-unseen)";

/// One paired comparison of two main configurations of a task (A - B), on one metric.
struct Comparison {
    std::string task, name, metric;  // name: "UL - baseline"; metric: "strict greedy accuracy" | "first-token margin"
    PairedDifference d;
    std::size_t seeds = 0;
};

/// The main configuration of `name` (round `round`) in each seed's records.
inline std::map<std::uint64_t, const Record*> by_seed(const std::vector<Record>& records, const std::string& task, const std::string& name, int round,
                                                      bool alpha_one = false) {
    std::map<std::uint64_t, const Record*> out;
    for (const auto& r : records)
        if (r.task == task && r.method.name == name && r.round == round && (alpha_one ? r.method.alpha == 1.0 : r.method.main)) out[r.seed] = &r;
    return out;
}

/// The paper's comparisons, paired per seed and prompt: UL - baseline, CRINGE - baseline, CRINGE - UL
/// (main configurations) and iterative (round 2) - single (its own round 1, alpha 1), on strict
/// greedy accuracy and, where the world has one, the first-token margin.
inline std::vector<Comparison> compare_methods(const std::vector<Record>& records, const std::vector<std::string>& tasks, std::size_t replicates) {
    std::vector<Comparison> out;
    for (const auto& task : tasks) {
        const auto base = by_seed(records, task, "baseline", 1), ul = by_seed(records, task, "unlikelihood", 1),
                   cr = by_seed(records, task, "cringe_single", 1), cr1 = by_seed(records, task, "cringe_single", 1, true),
                   it = by_seed(records, task, "cringe_iterative", 2);
        const std::vector<std::tuple<std::string, const std::map<std::uint64_t, const Record*>*, const std::map<std::uint64_t, const Record*>*>> pairs = {
            {"UL - baseline", &ul, &base}, {"CRINGE - baseline", &cr, &base}, {"CRINGE - UL", &cr, &ul}, {"iterative - single", &it, &cr1}};
        for (const auto& [name, a, b] : pairs)
            for (const int metric : {0, 1, 2}) {  // strict accuracy, first-token margin, gold F1 (FITS)
                const bool margin = metric == 1;
                std::vector<std::vector<double>> xa, xb;
                for (const auto& [seed, ra] : *a) {
                    const auto rb = b->find(seed);
                    if (rb == b->end()) continue;
                    if (metric == 2) {
                        xa.push_back(ra->metrics.f1_per_prompt);
                        xb.push_back(rb->second->metrics.f1_per_prompt);
                    } else if (margin) {
                        if (ra->metrics.margin_per_prompt.empty()) continue;
                        xa.push_back(ra->metrics.margin_per_prompt);
                        xb.push_back(rb->second->metrics.margin_per_prompt);
                    } else {
                        xa.emplace_back(ra->metrics.strict_per_prompt.begin(), ra->metrics.strict_per_prompt.end());
                        xb.emplace_back(rb->second->metrics.strict_per_prompt.begin(), rb->second->metrics.strict_per_prompt.end());
                    }
                    if (xa.back().empty()) {
                        xa.pop_back();
                        xb.pop_back();
                    }
                }
                if (xa.empty()) continue;
                out.push_back({task, name, metric == 2 ? kGoldF1Metric : margin ? "first-token margin" : "strict greedy accuracy",
                               paired_bootstrap(xa, xb, replicates, kBootstrapSeed),
                               xa.size()});
            }
    }
    return out;
}

inline nlohmann::ordered_json options_json(const repro::world::WorldOptions& o) {
    return {{"pretrain", o.pretrain}, {"labeled", o.labeled}, {"unlabeled", o.unlabeled}, {"eval_target", o.eval_target},
            {"eval_valid_target", o.eval_valid_target ? o.eval_valid_target : o.eval_target}, {"eval_ordinary", o.eval_ordinary},
            {"pretrain_target_share", o.pretrain_target_share}, {"pretrain_bad_rate", o.pretrain_bad_rate},
            {"labeled_positive_share", o.labeled_positive_share}, {"negative_shared_frame", o.negative_shared_frame},
            {"heldout_in_pretrain", o.heldout_in_pretrain}, {"golds_per_prompt", o.golds_per_prompt}, {"replay_share", o.replay_share},
            {"replay_bad_rate", o.replay_bad_rate}, {"opener_train_groups", o.opener_train_groups}, {"opener_mode_b", o.opener_mode_b},
            {"opener_mode_b_labeled", o.opener_mode_b_labeled}, {"opener_prefix_share", o.opener_prefix_share},
            {"opener_support_share", o.opener_support_share}, {"fits_unseen_topics", o.fits_unseen_topics}, {"eval_unseen", o.eval_unseen}};
}

inline nlohmann::ordered_json settings_json(const Settings& s) {
    return {{"n_embd", s.n_embd}, {"n_layer", s.n_layer}, {"n_head", s.n_head}, {"n_positions", s.n_positions},
            {"pretrain_steps", s.pretrain_steps}, {"finetune_steps", s.finetune_steps}, {"batch", s.batch},
            {"pretrain_lr", s.pretrain_lr}, {"finetune_lr", s.finetune_lr}, {"beam_prompts", s.beam_prompts},
            {"samples_per_prompt", s.samples_per_prompt}, {"positive_target_share", s.positive_target_share},
            {"token_level", s.token_level}, {"token_level_ce_rest", s.token_level_ce_rest}, {"negative_eos", s.negative_eos},
            {"negative_tokens", s.negative_tokens}, {"label_noise", s.label_noise}, {"iterate_prompts", s.iterate_prompts}, {"positive_repeats", s.positive_repeats},
            {"round2_steps", s.round2_steps}  /* 0: the task's finetune_steps */, {"threads", s.threads}};
}

inline nlohmann::ordered_json method_json(const Record& r) {
    nlohmann::ordered_json j = {{"task", r.task}, {"method", r.method.name}};
    if (r.method.loss != "none" && r.method.loss != "cross_entropy") j["alpha"] = r.method.alpha;
    if (r.method.loss == "cringe" || r.method.loss == "pairwise_cringe") j["k"] = r.method.k;
    j["round"] = r.round;
    return j;
}

inline void write_summary(const std::filesystem::path& out, const std::vector<Record>& records, const std::vector<Aggregate>& aggregates,
                          const std::vector<Comparison>& comparisons, const nlohmann::ordered_json& run_info) {
    nlohmann::ordered_json doc;
    doc["run"] = run_info;
    doc["comparisons"] = nlohmann::ordered_json::array();
    for (const auto& c : comparisons)
        doc["comparisons"].push_back({{"task", c.task}, {"comparison", c.name}, {"metric", c.metric}, {"mean", c.d.mean}, {"ci95_low", c.d.lo},
                                      {"ci95_high", c.d.hi}, {"significant", c.d.significant()}, {"wins", c.d.wins}, {"ties", c.d.ties},
                                      {"losses", c.d.losses}, {"seeds", c.seeds}});
    doc["records"] = nlohmann::ordered_json::array();
    for (const auto& r : records) {
        auto j = method_json(r);
        j["seed"] = r.seed;
        j["aggregate"] = false;
        j["n_seeds"] = 1;
        j["main"] = r.method.main;
        j.update(metrics_json(r.metrics));
        j["seconds"] = r.seconds;
        doc["records"].push_back(j);
    }
    for (const auto& a : aggregates) {
        Record r{a.task, a.method, 0, a.round, a.mean, 0};
        auto j = method_json(r);
        j["seed"] = nullptr;
        j["aggregate"] = true;
        j["n_seeds"] = a.n;
        j["main"] = a.method.main;
        j.update(metrics_json(a.mean));
        const auto spread = metrics_json(a.stddev);  // a named object: items() refers into it
        for (const auto& [k, v] : spread.items()) j[k + "_std"] = v;
        doc["records"].push_back(j);
    }
    cringe::io::write_file_atomically(out / "summary.json", doc.dump(2) + "\n");

    std::ostringstream csv;
    csv << "task,method,main,alpha,k,round,seed,target_accuracy,target_accuracy_beam,target_accuracy_sampled,target_accuracy_lenient,wellformed,f1,ppl,distinct2,neg_nll,"
           "valid_accuracy,valid_accuracy_sampled,first_token_margin,seconds\n";
    for (const auto& r : records)
        csv << r.task << "," << r.method.name << "," << (r.method.main ? 1 : 0) << "," << r.method.alpha << "," << r.method.k << "," << r.round << "," << r.seed << ","
            << r.metrics.target_accuracy << "," << r.metrics.target_accuracy_beam << "," << r.metrics.target_accuracy_sampled << "," << r.metrics.target_accuracy_lenient << ","
            << r.metrics.wellformed << "," << r.metrics.f1 << "," << r.metrics.ppl << "," << r.metrics.distinct2 << "," << r.metrics.neg_nll
            << "," << r.metrics.valid_accuracy << "," << r.metrics.valid_accuracy_sampled << "," << r.metrics.margin << "," << r.seconds << "\n";
    cringe::io::write_file_atomically(out / "results.csv", csv.str());
}

inline std::string pm(double mean, double sd, int digits = 3) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f ± %.*f", digits, mean, digits, sd);
    return buf;
}

inline std::string label(const Aggregate& a) {
    std::string s = a.method.name;
    if (a.method.loss == "unlikelihood" || a.method.loss == "cringe" || a.method.loss == "pairwise_cringe")
        s += cringe::cat(" (α=", a.method.alpha, ")");
    return s;
}

/// The paper's numbers for the main methods (test split tables; classifier accuracy and F1, as fractions).
struct PaperRow {
    const char* method;
    int round;
    double accuracy, f1;
};
inline const std::vector<PaperRow>& paper_rows(const std::string& task) {
    static const std::vector<PaperRow> safety = {{"baseline", 1, 0.594, 0.159}, {"unlikelihood", 1, 0.867, 0.165},
                                                 {"cringe_single", 1, 0.945, 0.165}, {"cringe_iterative", 2, 0.999, 0.166}};
    static const std::vector<PaperRow> contradiction = {{"baseline", 1, 0.793, 0.180}, {"unlikelihood", 1, 0.923, 0.180},
                                                        {"cringe_single", 1, 0.953, 0.184}, {"cringe_iterative", 2, 0.965, 0.184}};
    // FITS: the paper reports F1 only (size-weighted average of valid, test and test-unseen)
    // (the paper's "BB2" row is the model before FITS training, our "pretrained"; it has no CE baseline row)
    static const std::vector<PaperRow> fits = {{"pretrained", 0, std::nan(""), 0.149}, {"baseline", 1, std::nan(""), std::nan("")},
                                               {"unlikelihood", 1, std::nan(""), 0.175},
                                               {"cringe_single", 1, std::nan(""), 0.178}, {"cringe_iterative", 2, std::nan(""), 0.178}};
    return task == "safety" ? safety : task == "fits" ? fits : contradiction;
}

inline std::string fixed(double v, int digits = 3) {
    if (std::isnan(v)) return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%+.*f", digits, v);
    std::string out = buf;
    return out[0] == '+' ? out.substr(1) : out;
}

inline const Aggregate* main_aggregate(const std::vector<Aggregate>& aggregates, const std::string& task, const std::string& name, int round) {
    for (const auto& a : aggregates)
        if (a.task == task && a.method.name == name && a.round == round && (a.method.main || name == "cringe_iterative")) return &a;
    return nullptr;
}

/// The FITS task's own tables: gold F1 by split next to the paper's table, and per-seed weighted F1.
inline std::string fits_tables(const std::vector<Aggregate>& aggregates, const std::vector<Record>& records) {
    struct Split {
        const char* method;
        int round;
        const char* paper_name;
        double valid, test, unseen, weighted;
    };
    const double none = std::nan("");
    const std::vector<Split> paper = {{"pretrained", 0, "BB2", 0.144, 0.147, 0.153, 0.149},
                                      {"baseline", 1, "(no such row)", none, none, none, none},
                                      {"unlikelihood", 1, "Unlikelihood", 0.171, 0.168, 0.185, 0.175},
                                      {"cringe_single", 1, "CRINGE (single iter.)", 0.172, 0.175, 0.184, 0.178},
                                      {"cringe_iterative", 2, "CRINGE", 0.173, 0.180, 0.178, 0.178}};
    std::ostringstream md;
    md << "### Paper vs here: gold F1 by split (greedy)\n\n"
          "Here: unigram F1 of the greedy reply against one gold reply, mean ± std over seeds; weighted = (684 valid + 1453 test + 1366 "
          "test-unseen) / 3503, the paper's split sizes. Good-reply rate: the checker's verdict on test + test-unseen. The paper's BB2 is the "
          "model before FITS training (here: pretrained).\n\n"
          "| method | paper row | paper valid / test / unseen / weighted | here valid | here test | here test-unseen | here weighted | good-reply rate |\n"
          "|---|---|---|---|---|---|---|---|\n";
    for (const auto& p : paper) {
        const Aggregate* a = main_aggregate(aggregates, "fits", p.method, p.round);
        md << "| " << p.method << (a && a->method.loss != "cross_entropy" && a->method.loss != "none" ? cringe::cat(" (α=", a->method.alpha, ")") : "")
           << " | " << p.paper_name << " | " << fixed(p.valid) << " / " << fixed(p.test) << " / " << fixed(p.unseen) << " / " << fixed(p.weighted) << " | ";
        if (!a) {
            md << "not run | | | | |\n";
            continue;
        }
        md << pm(a->mean.f1_valid, a->stddev.f1_valid) << " | " << pm(a->mean.f1_test, a->stddev.f1_test) << " | " << pm(a->mean.f1_unseen, a->stddev.f1_unseen)
           << " | " << pm(a->mean.f1, a->stddev.f1) << " | " << pm(a->mean.target_accuracy, a->stddev.target_accuracy) << " |\n";
    }
    const auto base = by_seed(records, "fits", "baseline", 1), ul = by_seed(records, "fits", "unlikelihood", 1), cr = by_seed(records, "fits", "cringe_single", 1),
               cr1 = by_seed(records, "fits", "cringe_single", 1, true), it = by_seed(records, "fits", "cringe_iterative", 2),
               pre = by_seed(records, "fits", "pretrained", 0);
    auto f1 = [](const std::map<std::uint64_t, const Record*>& m, std::uint64_t seed) {
        const auto f = m.find(seed);
        return f == m.end() ? std::numeric_limits<double>::quiet_NaN() : f->second->metrics.f1;
    };
    auto yes = [](double a, double b, bool ge) {
        if (std::isnan(a) || std::isnan(b)) return std::string("-");
        return std::string((ge ? a >= b : a > b) ? "yes" : "no");
    };
    std::set<std::uint64_t> seeds;
    for (const auto& r : records)
        if (r.task == "fits") seeds.insert(r.seed);
    md << "\n### Per seed (weighted gold F1)\n\n"
          "| seed | pretrained | baseline | UL | CRINGE single | iterative (round 2) | UL > baseline | CRINGE > baseline | CRINGE > UL | iterative >= single |\n"
          "|---|---|---|---|---|---|---|---|---|---|\n";
    for (auto seed : seeds)
        md << "| " << seed << " | " << fixed(f1(pre, seed)) << " | " << fixed(f1(base, seed)) << " | " << fixed(f1(ul, seed)) << " | " << fixed(f1(cr, seed))
           << " | " << fixed(f1(it, seed)) << " | " << yes(f1(ul, seed), f1(base, seed), false) << " | " << yes(f1(cr, seed), f1(base, seed), false) << " | "
           << yes(f1(cr, seed), f1(ul, seed), false) << " | " << yes(f1(it, seed), f1(cr1, seed), true) << " |\n";
    return md.str();
}

/// results.md: per task, paper vs here, the paired intervals, the per-seed table, then every configuration.
inline std::string markdown_report(const std::vector<Aggregate>& aggregates, const std::vector<Record>& records, const std::vector<Comparison>& comparisons,
                                   const std::vector<std::string>& tasks, const std::string& seeds, const std::string& world) {
    std::ostringstream md;
    md << "# cringe-repro results\n\nSeeds " << seeds << "; safety world: " << world
       << ". Target accuracy is STRICT (well-formed AND safe / consistent), greedy, on held-out test prompts; mean ± sample std over seeds. "
          "The paper's numbers are its test-split table (classifier accuracy, ConvAI2 F1).\n";
    for (const auto& task : tasks) {
        md << "\n## " << task << "\n\n";
        if (task == "fits") md << fits_tables(aggregates, records) << "\n";
        md << "### Paper vs here (main configurations)\n\n";
        md << "| method | paper acc. | here: strict greedy acc. | paper F1 | here: F1 | well-formed | ppl (held-out good replies) | first-token margin |\n";
        md << "|---|---|---|---|---|---|---|---|\n";
        for (const auto& p : paper_rows(task)) {
            const Aggregate* a = main_aggregate(aggregates, task, p.method, p.round);
            md << "| " << p.method << (a && a->method.loss != "cross_entropy" && a->method.loss != "none" ? cringe::cat(" (α=", a->method.alpha, ")") : "") << " | "
               << fixed(p.accuracy) << " | " << (a ? pm(a->mean.target_accuracy, a->stddev.target_accuracy) : "not run") << " | " << fixed(p.f1) << " | "
               << (a ? pm(a->mean.f1, a->stddev.f1) : "-") << " | " << (a ? pm(a->mean.wellformed, a->stddev.wellformed) : "-") << " | "
               << (a ? pm(a->mean.ppl, a->stddev.ppl) : "-") << " | " << (a && !std::isnan(a->mean.margin) ? pm(a->mean.margin, a->stddev.margin, 2) : "-") << " |\n";
        }
        if (const Aggregate* a = main_aggregate(aggregates, task, "pretrained", 0))
            md << "\nPretrained model (no fine-tuning): strict greedy accuracy " << pm(a->mean.target_accuracy, a->stddev.target_accuracy) << ", F1 "
               << pm(a->mean.f1, a->stddev.f1) << ".\n";
        md << "\n### Paired differences (95 % bootstrap interval over seeds and prompts)\n\n"
              "Each difference pairs the two methods on the same seed and the same test prompts. Significant: the interval excludes 0. "
              "wins / ties / losses: seeds whose mean difference is > 0, = 0, < 0.\n\n";
        md << "| comparison | metric | mean difference | 95 % interval | significant | wins / ties / losses | seeds |\n|---|---|---|---|---|---|---|\n";
        for (const auto& c : comparisons)
            if (c.task == task)
                md << "| " << c.name << " | " << c.metric << " | " << fixed(c.d.mean) << " | [" << fixed(c.d.lo) << ", " << fixed(c.d.hi) << "] | "
                   << (c.d.significant() ? (c.d.lo > 0 ? "yes (A > B)" : "yes (A < B)") : "no") << " | " << c.d.wins << " / " << c.d.ties << " / " << c.d.losses
                   << " | " << c.seeds << " |\n";
        // Per-seed table of the main methods' strict greedy accuracy and the paper's ordering.
        const auto base = by_seed(records, task, "baseline", 1), ul = by_seed(records, task, "unlikelihood", 1),
                   cr = by_seed(records, task, "cringe_single", 1), cr1 = by_seed(records, task, "cringe_single", 1, true),
                   it = by_seed(records, task, "cringe_iterative", 2), pre = by_seed(records, task, "pretrained", 0);
        md << "\n### Per seed (strict greedy accuracy on the test prompts)\n\n"
              "| seed | pretrained | baseline | UL | CRINGE single | iterative (round 2) | UL > baseline | CRINGE > baseline | CRINGE > UL | iterative >= single |\n"
              "|---|---|---|---|---|---|---|---|---|---|\n";
        std::set<std::uint64_t> seed_set;
        for (const auto& r : records)
            if (r.task == task) seed_set.insert(r.seed);
        auto acc = [](const std::map<std::uint64_t, const Record*>& m, std::uint64_t seed) {
            const auto f = m.find(seed);
            return f == m.end() ? std::numeric_limits<double>::quiet_NaN() : f->second->metrics.target_accuracy;
        };
        auto yes = [](double a, double b, bool ge) {
            if (std::isnan(a) || std::isnan(b)) return std::string("-");
            return std::string((ge ? a >= b : a > b) ? "yes" : "no");
        };
        for (auto seed : seed_set)
            md << "| " << seed << " | " << fixed(acc(pre, seed)) << " | " << fixed(acc(base, seed)) << " | " << fixed(acc(ul, seed)) << " | "
               << fixed(acc(cr, seed)) << " | " << fixed(acc(it, seed)) << " | " << yes(acc(ul, seed), acc(base, seed), false) << " | "
               << yes(acc(cr, seed), acc(base, seed), false) << " | " << yes(acc(cr, seed), acc(ul, seed), false) << " | "
               << yes(acc(it, seed), acc(cr1, seed), true) << " |\n";
        md << "\n### Every configuration\n\nUnlikelihood's and single-round CRINGE's alpha: the best strict greedy accuracy on the VALIDATION prompts "
              "(ties: sampled, then alpha = 1); cringe_iterative continues from alpha = 1.\n\n";
        md << "| method | main | round | target acc. (greedy, strict) | beam | sampled | lenient | well-formed | F1 | ppl | distinct-2 | neg. NLL | "
              "first-token margin | valid (greedy / sampled) | seeds |\n";
        md << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
        for (const auto& a : aggregates) {
            if (a.task != task) continue;
            md << "| " << label(a) << " | " << (a.method.main ? "yes" : "") << " | " << a.round << " | " << pm(a.mean.target_accuracy, a.stddev.target_accuracy)
               << " | " << pm(a.mean.target_accuracy_beam, a.stddev.target_accuracy_beam) << " | "
               << pm(a.mean.target_accuracy_sampled, a.stddev.target_accuracy_sampled) << " | " << pm(a.mean.target_accuracy_lenient, a.stddev.target_accuracy_lenient)
               << " | " << pm(a.mean.wellformed, a.stddev.wellformed) << " | " << pm(a.mean.f1, a.stddev.f1) << " | " << pm(a.mean.ppl, a.stddev.ppl, 3) << " | "
               << pm(a.mean.distinct2, a.stddev.distinct2) << " | " << pm(a.mean.neg_nll, a.stddev.neg_nll, 2) << " | "
               << (std::isnan(a.mean.margin) ? std::string("-") : pm(a.mean.margin, a.stddev.margin, 2)) << " | "
               << cringe::cat(std::round(a.mean.valid_accuracy * 1000) / 1000, " / ", std::round(a.mean.valid_accuracy_sampled * 1000) / 1000) << " | " << a.n
               << " |\n";
        }
    }
    return md.str();
}

/// Short names for plot legends and axes.
inline std::string short_name(const Aggregate& a) {
    static const std::map<std::string, std::string> names = {{"pretrained", "pretrained"}, {"baseline", "baseline"}, {"unlikelihood", "UL"},
                                                             {"cringe_single", "CRINGE"}, {"cringe_iterative", "CRINGE-iter"}};
    const auto it = names.find(a.method.name);
    std::string s = it == names.end() ? a.method.name : it->second;
    if (a.method.loss == "unlikelihood" || a.method.loss == "cringe" || a.method.loss == "pairwise_cringe") s += cringe::cat("(a=", a.method.alpha, ")");
    if (a.round == 2) s += "-r2";
    for (char& c : s)
        if (c == ' ' || c == '"' || c == '\'') c = '_';
    return s;
}

/// Writes the data files and plots.gp (relative file names only), then runs gnuplot in `out` without a
/// shell. Per task: a grouped bar chart of the main methods next to the paper's numbers (error bars:
/// sample std over seeds), F1 vs target accuracy (one legend entry per configuration, error bars both
/// ways) and CRINGE's accuracy per round. A plot whose data is empty is not drawn, and an empty output
/// file is removed, so a run with a subset of methods never leaves a 0-byte image. Returns false (and
/// the reason) when gnuplot is missing or fails; the tables are complete either way.
inline bool plot(const std::filesystem::path& out, const std::vector<Aggregate>& aggregates, const std::vector<std::string>& tasks, std::string& why) {
    std::ostringstream gp;
    std::vector<std::string> outputs;
    for (const auto& task : tasks) {
        std::ostringstream bars, scatter, rounds;
        std::size_t n_bars = 0, n_scatter = 0, n_rounds = 0;
        std::string titles;
        bars << (task == "fits" ? "# method paper_f1 here_f1 here_std\n" : "# method paper_accuracy here_accuracy here_std\n");
        for (const auto& p : paper_rows(task))
            if (const Aggregate* a = main_aggregate(aggregates, task, p.method, p.round)) {
                if (task == "fits")  // the paper's FITS metric is F1 (no accuracy)
                    bars << short_name(*a) << " " << (std::isnan(p.f1) ? std::string("NaN") : cringe::cat(p.f1)) << " " << a->mean.f1 << " " << a->stddev.f1 << "\n";
                else
                    bars << short_name(*a) << " " << p.accuracy << " " << a->mean.target_accuracy << " " << a->stddev.target_accuracy << "\n";
                ++n_bars;
            }
        for (const auto& a : aggregates) {
            if (a.task != task) continue;
            scatter << "# " << short_name(a) << "\n" << a.mean.target_accuracy << " " << a.mean.f1 << " " << a.stddev.target_accuracy << " " << a.stddev.f1 << "\n\n\n";
            titles += (titles.empty() ? "" : " ") + short_name(a);
            ++n_scatter;
            if (a.method.name == "pretrained") {
                rounds << "0 " << a.mean.target_accuracy << " " << a.stddev.target_accuracy << "\n";
                ++n_rounds;
            }
            if ((a.method.name == "cringe_single" && a.method.alpha == 1.0) || a.method.name == "cringe_iterative") {
                rounds << a.round << " " << a.mean.target_accuracy << " " << a.stddev.target_accuracy << "\n";
                ++n_rounds;
            }
        }
        // only the data of plots that are drawn (an empty data file would be a 0-byte file too)
        if (n_bars > 0) cringe::io::write_file_atomically(out / ("bars_" + task + ".dat"), bars.str());
        if (n_scatter > 0) cringe::io::write_file_atomically(out / ("scatter_" + task + ".dat"), scatter.str());
        if (n_rounds > 0) cringe::io::write_file_atomically(out / ("rounds_" + task + ".dat"), rounds.str());
        for (const std::string ext : {"png", "svg"}) {
            const std::string term = ext == "png" ? "pngcairo noenhanced size 1000,700 font ',11'" : "svg noenhanced size 1000,700 font ',11'";
            gp << "set terminal " << term << "\nset lmargin 10\nset rmargin 4\nset bmargin 5\nset tmargin 3\nset grid ytics\n";
            if (n_bars > 0) {
                gp << "set output 'accuracy_" << task << "." << ext << "'\n"
                   << (task == "fits" ? "set title 'Gold F1 (fits): the paper (weighted valid/test/test-unseen) vs here (greedy, same weighting, mean +- std over seeds)'\n"
                                      : "set title 'Target accuracy (" + task + "): the paper (classifier, test split) vs here (strict greedy, held-out prompts, mean +- std over seeds)'\n")
                   << "set style data histogram\nset style histogram errorbars gap 2 lw 1\nset style fill solid 0.6 border -1\nset boxwidth 0.9\n"
                   << "set yrange [0:1.1]\nset ylabel '" << (task == "fits" ? "gold F1" : "target accuracy") << "'\nset key top left\n"
                   << "plot 'bars_" << task << ".dat' using 2:(0):xtic(1) title 'paper', '' using 3:4 title 'here (error bar: std over seeds)'\n"
                   << "unset yrange\nset style data points\n";
                outputs.push_back("accuracy_" + task + "." + ext);
            }
            if (n_scatter > 0) {
                gp << "set output 'f1_vs_accuracy_" << task << "." << ext << "'\n"
                   << "set title 'F1 vs target accuracy (" << task << "), mean +- std over seeds'\n"
                   << (task == "fits" ? "set xlabel 'good-reply rate (checker, greedy)'\nset ylabel 'gold F1 (weighted valid / test / test-unseen)'\n"
                                      : "set xlabel 'target accuracy (strict, greedy)'\nset ylabel 'F1 on ordinary prompts'\n")
                   << "set key outside right top\n"
                   << "titles = \"" << titles << "\"\n"
                   << "plot for [i=0:" << n_scatter - 1 << "] 'scatter_" << task << ".dat' index i using 1:2:3:4 with xyerrorbars pt 7 ps 1.3 title word(titles, i+1)\n"
                   << "unset xlabel\n";
                outputs.push_back("f1_vs_accuracy_" + task + "." + ext);
            }
            if (n_rounds > 0) {
                gp << "set output 'rounds_" << task << "." << ext << "'\n"
                   << "set title 'CRINGE (alpha 1): target accuracy per round (" << task << "; round 0 = pretrained)'\n"
                   << "set xlabel 'round'\nset ylabel 'target accuracy (strict, greedy)'\nset xtics 1\nset yrange [0:1.05]\nset key top left\n"
                   << "plot 'rounds_" << task << ".dat' using 1:2:3 with yerrorlines pt 7 title 'mean +- std over seeds'\n"
                   << "unset yrange\nunset xlabel\nset xtics autofreq\n";
                outputs.push_back("rounds_" + task + "." + ext);
            }
        }
    }
    cringe::io::write_file_atomically(out / "plots.gp", gp.str());
    const auto result = spawn_capture({"gnuplot", "plots.gp"}, "", "gnuplot.log", out.string());
    bool complete = result.started && result.status == 0;
    outputs.push_back("gnuplot.log");  // empty when gnuplot had nothing to say
    for (const auto& name : outputs) {  // never leave an empty image (or log) behind
        std::error_code ec;
        if (std::filesystem::exists(out / name, ec) && std::filesystem::file_size(out / name, ec) == 0) {
            std::filesystem::remove(out / name, ec);
            if (name != "gnuplot.log") complete = false;
        }
    }
    if (!result.started) {
        why = "gnuplot is not installed (apt-get install -y gnuplot-nox); plots.gp is written";
        return false;
    }
    if (!complete) {
        why = "gnuplot failed; see " + (out / "gnuplot.log").string();
        return false;
    }
    return true;
}

}  // namespace repro
