// One libFuzzer program for every fuzz harness of tests/fuzz/ (docs/errors.md, "Fuzzing"). The
// harness is chosen on the command line, which libFuzzer leaves alone because it starts with "--":
//   fuzz_parsers --harness=checkpoint [libFuzzer flags] corpus_dir
//   fuzz_parsers --harness=checkpoint crash-1234abcd        # replay one input
// One program instead of five: the harnesses share most of what they instantiate (the model, the
// JSON reader, the file formats), so one translation unit compiles in about half the time of five
// (docs/testing.md, "Time").
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "checkpoint.hpp"
#include "cringe_ref_cli.hpp"
#include "loss_request.hpp"
#include "pretrained.hpp"
#include "training_state.hpp"

namespace {

using OneInput = int (*)(const std::uint8_t*, std::size_t);

struct Harness {
    std::string_view name;
    OneInput one_input;
};

constexpr Harness kHarnesses[] = {
    {"loss_request", cringe_fuzz::loss_request::one_input},
    {"checkpoint", cringe_fuzz::checkpoint::one_input},
    {"pretrained", cringe_fuzz::pretrained::one_input},
    {"training_state", cringe_fuzz::training_state::one_input},
    {"cringe_ref_cli", cringe_fuzz::cringe_ref_cli::one_input},
};

OneInput chosen = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
    constexpr std::string_view kFlag = "--harness=";
    for (int i = 1; i < *argc; ++i) {
        const std::string_view arg = (*argv)[i];
        if (arg.substr(0, kFlag.size()) != kFlag) continue;
        for (const auto& harness : kHarnesses)
            if (arg.substr(kFlag.size()) == harness.name) chosen = harness.one_input;
    }
    if (chosen == nullptr) {
        std::fprintf(stderr, "fuzz_parsers: --harness=NAME is required; NAME is one of");
        for (const auto& harness : kHarnesses) std::fprintf(stderr, " %.*s", static_cast<int>(harness.name.size()), harness.name.data());
        std::fprintf(stderr, "\n");
        std::exit(2);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { return chosen(data, size); }
