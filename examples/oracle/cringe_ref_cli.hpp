// The command line of cringe-ref, parsed without printing or exiting, so that main() and the fuzz
// harness tests/fuzz/cringe_ref_cli.hpp share one parser.
//
// Numbers on the command line are parsed strictly (parse_integer_flag): decimal digits only, the
// whole argument, within the option's range. CLI11 alone accepted `--seed -5` (wrapped to
// 2^64 - 5), `--seed 99999999999999999999` (clamped) and `--seed 0x10`.
#pragma once

#include <CLI/CLI.hpp>
#include <cringe/error.hpp>
#include <cringe/loss/registry.hpp>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace cringe_ref {

/// `text` as an integer of type Int in [min, max]; anything else (a sign on an unsigned option, a
/// '+', spaces, hex, a fraction, an exponent, a value out of range) is a cringe::ValueError whose
/// message names the flag, the text and the allowed values.
template <class Int>
Int parse_integer_flag(const std::string& text, const std::string& flag, Int min = std::numeric_limits<Int>::min(),
                       Int max = std::numeric_limits<Int>::max()) {
    const std::string expected = cringe::cat("; expected a decimal integer in [", +min, ", ", +max, "]");
    Int value{};
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);  // base 10, no '+', no spaces
    if (error == std::errc::result_out_of_range) throw cringe::ValueError(cringe::cat(flag, " is ", text, ", out of range", expected));
    if (error != std::errc() || stop != end) throw cringe::ValueError(cringe::cat(flag, " is \"", text, "\", not an integer", expected));
    if (value < min || value > max) throw cringe::ValueError(cringe::cat(flag, " is ", text, ", out of range", expected));
    return value;
}

/// What the command line asks for. `help` non-empty: print it on standard output and exit 0.
struct CommandLine {
    std::string command;  // "loss", "init", "logits" or "grad"
    std::string in_path = "-";
    std::string model_dir, config_path, out_dir;
    std::uint64_t seed = 0;
    std::string help;
};

/// The request fields' defaults, from the library's registry of policies and their options (shown by --help).
inline std::string request_defaults() {
    std::string options;
    cringe::loss::AnyPolicy<double> policy;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        auto list = [&](auto& p) {  // "  options of cringe: alpha 1, k 5, detach_positive false, ..."
            std::string line;
            cringe::loss::for_each_option(p, [&](std::string_view name, const auto& value) {
                using Field = std::remove_cvref_t<decltype(value)>;
                line += cringe::cat(line.empty() ? "" : ", ", name, " ");
                if constexpr (std::is_same_v<Field, bool>) line += value ? "true" : "false";
                else if constexpr (std::is_arithmetic_v<Field>) line += cringe::cat(value);
                else line += cringe::cat("\"", cringe::loss::choice_name(value), "\"");
            });
            if (!line.empty()) options += cringe::cat("  options of ", p.name, ": ", line, "\n");
        };
        (list(policy.template emplace<I>()), ...);
    }(std::make_index_sequence<std::variant_size_v<cringe::loss::AnyPolicy<double>>>{});
    return cringe::cat(
        "Request defaults (every field omitted from the input JSON):\n"
        "  dtype \"float64\", pad_id 0, seed 0, sampled absent (CRINGE draws its positives with seed)\n",
        options,
        "Exit status: 0 success, 1 the result could not be written, 2 bad input (one line on standard error).");
}

/// Parses argv (argv[0] is the program name). Throws CLI::ParseError for what CLI11 rejects (an
/// unknown subcommand or option, a missing required option) and cringe::ValueError for a bad number.
inline CommandLine parse_command_line(int argc, const char* const* argv) {
    CommandLine cl;
    CLI::App app{"cringe-ref: the cringe library's reference semantics, JSON in and JSON out", "cringe-ref"};
    app.require_subcommand(1, 1);
    app.footer(request_defaults());
    std::string seed_text;
    const char* in_help = "input JSON file; - is standard input";
    auto* loss_cmd = app.add_subcommand("loss", "evaluate a loss and its gradient with respect to the logits");
    loss_cmd->add_option("--in", cl.in_path, in_help)->capture_default_str();
    auto* init_cmd = app.add_subcommand("init", "write a freshly initialised GPT in the Hugging Face layout");
    init_cmd->add_option("--config", cl.config_path, "model config JSON")->required();
    init_cmd->add_option("--seed", seed_text, "initialisation seed, an integer in [0, 2^64 - 1]")->required()->type_name("UINT");
    init_cmd->add_option("--out", cl.out_dir, "output directory")->required();
    auto* logits_cmd = app.add_subcommand("logits", "the model's logits for {\"tokens\": [[...]], \"dtype\": ...}");
    logits_cmd->add_option("--model", cl.model_dir, "checkpoint directory")->required();
    logits_cmd->add_option("--in", cl.in_path, in_help)->capture_default_str();
    auto* grad_cmd = app.add_subcommand("grad", "a loss on the model's logits and every parameter's gradient");
    grad_cmd->add_option("--model", cl.model_dir, "checkpoint directory")->required();
    grad_cmd->add_option("--in", cl.in_path, in_help)->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        cl.help = app.help();  // the selected subcommand's help, if one was named
        return cl;
    }
    for (const auto* sub : {loss_cmd, init_cmd, logits_cmd, grad_cmd})
        if (*sub) cl.command = sub->get_name();
    if (*init_cmd) cl.seed = parse_integer_flag<std::uint64_t>(seed_text, "init --seed");
    if (cl.in_path.empty()) throw cringe::ValueError(cringe::cat(cl.command, " --in is empty; expected a file name or - for standard input"));
    return cl;
}

}  // namespace cringe_ref
