// Fuzz harness `cringe_ref_cli` (fuzz_parsers.cpp): the command line of cringe-ref
// (examples/oracle/cringe_ref_cli.hpp). The input is split at NUL bytes into at most 32 arguments
// after the program name. parse_command_line must return or
// throw CLI::Error (CLI11's parse errors) or cringe::Error (a bad number): never crash, never exit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../../examples/oracle/cringe_ref_cli.hpp"

namespace cringe_fuzz::cringe_ref_cli {

inline int one_input(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> args{"cringe-ref"};
    std::string current;
    for (std::size_t i = 0; i < size && args.size() <= 32; ++i) {
        if (data[i] == 0) {
            args.push_back(current);
            current.clear();
        } else {
            current.push_back(static_cast<char>(data[i]));
        }
    }
    if (!current.empty() && args.size() <= 32) args.push_back(current);
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    try {
        const auto cl = cringe_ref::parse_command_line(static_cast<int>(argv.size()), argv.data());
        // a parse that succeeds names a subcommand or asks for help
        if (cl.help.empty() && cl.command != "loss" && cl.command != "init" && cl.command != "logits" && cl.command != "grad") __builtin_trap();
    } catch (const CLI::Error&) {
    } catch (const cringe::Error&) {
    }
    return 0;
}

}  // namespace cringe_fuzz::cringe_ref_cli
