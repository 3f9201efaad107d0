// examples/repro/report.hpp - the reproduction's outputs: summary.json, results.csv, results.md
// (laid out like the paper's tables, mean ± std over seeds) and gnuplot plots (PNG and SVG).
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
                           &Metrics::f1, &Metrics::ppl, &Metrics::distinct2, &Metrics::neg_nll, &Metrics::valid_accuracy,
                           &Metrics::valid_accuracy_sampled})
            stat(field);
        out.push_back(a);
    }
    return out;
}

/// The main table's alpha for the swept methods (unlikelihood, single-round CRINGE), chosen per task on
/// the VALIDATION prompts (reproduction.md section 10): the highest mean strict greedy accuracy, ties
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
                return std::tuple(x.mean.valid_accuracy, x.mean.valid_accuracy_sampled, x.method.alpha == 1.0);
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
            {"valid_accuracy", m.valid_accuracy}, {"valid_accuracy_sampled", m.valid_accuracy_sampled}};
}

inline nlohmann::ordered_json method_json(const Record& r) {
    nlohmann::ordered_json j = {{"task", r.task}, {"method", r.method.name}};
    if (r.method.loss != "none" && r.method.loss != "cross_entropy") j["alpha"] = r.method.alpha;
    if (r.method.loss == "cringe" || r.method.loss == "pairwise_cringe") j["k"] = r.method.k;
    j["round"] = r.round;
    return j;
}

inline void write_summary(const std::filesystem::path& out, const std::vector<Record>& records, const std::vector<Aggregate>& aggregates,
                          const nlohmann::ordered_json& run_info) {
    nlohmann::ordered_json doc;
    doc["run"] = run_info;
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
           "valid_accuracy,valid_accuracy_sampled,seconds\n";
    for (const auto& r : records)
        csv << r.task << "," << r.method.name << "," << (r.method.main ? 1 : 0) << "," << r.method.alpha << "," << r.method.k << "," << r.round << "," << r.seed << ","
            << r.metrics.target_accuracy << "," << r.metrics.target_accuracy_beam << "," << r.metrics.target_accuracy_sampled << "," << r.metrics.target_accuracy_lenient << ","
            << r.metrics.wellformed << "," << r.metrics.f1 << "," << r.metrics.ppl << "," << r.metrics.distinct2 << "," << r.metrics.neg_nll
            << "," << r.metrics.valid_accuracy << "," << r.metrics.valid_accuracy_sampled << "," << r.seconds << "\n";
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

/// The paper-style tables: main configurations first, then every sweep point.
inline std::string markdown_tables(const std::vector<Aggregate>& aggregates, const std::vector<std::string>& tasks) {
    std::ostringstream md;
    for (const auto& task : tasks) {
        for (bool main_only : {true, false}) {
            md << "\n### " << task << (main_only ? ": main configurations" : ": every configuration (sweeps and ablations)") << "\n\n";
            if (main_only)
                md << "Unlikelihood's and single-round CRINGE's alpha: the best strict greedy accuracy on the validation prompts "
                      "(ties: sampled, then alpha = 1); cringe_iterative continues from alpha = 1.\n\n";
            md << "| method | round | target acc. (greedy, strict) | beam | sampled | lenient | well-formed | F1 | ppl | distinct-2 | neg. NLL | valid (greedy / sampled) | seeds |\n";
            md << "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
            for (const auto& a : aggregates) {
                if (a.task != task) continue;
                if (main_only && !a.method.main) continue;
                md << "| " << label(a) << " | " << a.round << " | " << pm(a.mean.target_accuracy, a.stddev.target_accuracy) << " | "
                   << pm(a.mean.target_accuracy_beam, a.stddev.target_accuracy_beam) << " | " << pm(a.mean.target_accuracy_sampled, a.stddev.target_accuracy_sampled)
                   << " | " << pm(a.mean.target_accuracy_lenient, a.stddev.target_accuracy_lenient)
                   << " | " << pm(a.mean.wellformed, a.stddev.wellformed) << " | " << pm(a.mean.f1, a.stddev.f1) << " | " << pm(a.mean.ppl, a.stddev.ppl, 2)
                   << " | " << pm(a.mean.distinct2, a.stddev.distinct2) << " | " << pm(a.mean.neg_nll, a.stddev.neg_nll, 2) << " | "
                   << cringe::cat(std::round(a.mean.valid_accuracy * 1000) / 1000, " / ", std::round(a.mean.valid_accuracy_sampled * 1000) / 1000)
                   << " | " << a.n << " |\n";
            }
        }
    }
    return md.str();
}

/// Writes data files and a gnuplot script, then runs gnuplot (PNG and SVG). Returns false (and the
/// reason) when gnuplot is missing; the tables are still complete.
inline bool plot(const std::filesystem::path& out, const std::vector<Aggregate>& aggregates, const std::vector<std::string>& tasks, std::string& why) {
    std::ostringstream gp;
    for (const auto& task : tasks) {
        std::ostringstream scatter, rounds;
        for (const auto& a : aggregates) {
            if (a.task != task) continue;
            std::string name = label(a);
            for (char& c : name)
                if (c == ' ') c = '_';
            scatter << a.mean.target_accuracy << " " << a.mean.f1 << " \"" << name << (a.round == 2 ? "_r2" : "") << "\"\n";
            if (a.method.name == "pretrained") rounds << "0 " << a.mean.target_accuracy << " " << a.stddev.target_accuracy << "\n";
            if ((a.method.name == "cringe_single" && a.method.alpha == 1.0) || a.method.name == "cringe_iterative")
                rounds << a.round << " " << a.mean.target_accuracy << " " << a.stddev.target_accuracy << "\n";
        }
        cringe::io::write_file_atomically(out / ("scatter_" + task + ".dat"), scatter.str());
        cringe::io::write_file_atomically(out / ("rounds_" + task + ".dat"), rounds.str());
        for (const char* term : {"pngcairo noenhanced size 900,650", "svg noenhanced size 900,650"}) {
            const std::string ext = std::string(term).substr(0, 3) == "svg" ? "svg" : "png";
            gp << "set terminal " << term << "\nset output '" << (out / ("f1_vs_accuracy_" + task + "." + ext)).string() << "'\n"
               << "set title 'F1 vs target accuracy (" << task << "), one point per method and hyper-parameter'\n"
               << "set xlabel 'target accuracy (strict, greedy)'\nset ylabel 'F1 on ordinary prompts'\nset key off\nset grid\n"
               << "plot '" << (out / ("scatter_" + task + ".dat")).string() << "' using 1:2 with points pt 7 ps 1.2, '' using 1:2:3 with labels offset 1,0.6 font ',8'\n"
               << "set output '" << (out / ("rounds_" + task + "." + ext)).string() << "'\n"
               << "set title 'CRINGE (alpha 1): target accuracy per round (" << task << "; 0 = pretrained)'\n"
               << "set xlabel 'round'\nset ylabel 'target accuracy (strict, greedy)'\nset xtics 1\nset yrange [0:1]\n"
               << "plot '" << (out / ("rounds_" + task + ".dat")).string() << "' using 1:2:3 with yerrorlines pt 7\nunset yrange\nset xtics autofreq\n";
        }
    }
    cringe::io::write_file_atomically(out / "plots.gp", gp.str());
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        why = "gnuplot is not installed (apt-get install -y gnuplot-nox); plots.gp is written";
        return false;
    }
    const std::string command = "gnuplot '" + (out / "plots.gp").string() + "' 2>'" + (out / "gnuplot.log").string() + "'";
    if (std::system(command.c_str()) != 0) {
        why = "gnuplot failed; see " + (out / "gnuplot.log").string();
        return false;
    }
    return true;
}

}  // namespace repro
