// Fuzz harness `loss_request` (fuzz_parsers.cpp): arbitrary bytes as `cringe-ref loss` input.
// Parsing and evaluation must either succeed or throw cringe::Error (exit status 2 in cringe-ref): never crash, never UB.
#pragma once

#include <cstdint>
#include <string>

#include <cringe/io/json_file.hpp>
#include "../../examples/oracle/loss_request.hpp"

namespace cringe_fuzz::loss_request {

inline int one_input(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto request = oracle::parse_loss_request(cringe::io::parse_json(text, "input"));
        if (request.logits.size() > 100000) return 0;  // keep each run fast
        (void)oracle::evaluate_loss_request<double>(request);
        (void)oracle::evaluate_loss_request<float>(request);
    } catch (const cringe::Error&) {
    }
    return 0;
}

}  // namespace cringe_fuzz::loss_request
