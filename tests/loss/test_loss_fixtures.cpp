// Cross-implementation test: the library against the independent PyTorch implementation in
// tests/reference/losses_ref.py (autograd gradients), through the same JSON path as cringe-ref.
#include "../support/testing.hpp"

#include <fstream>

#include "../../examples/oracle/loss_request.hpp"

using namespace cringe;

TEST_CASE("every loss matches the PyTorch reference fixtures to 1e-12 in double", "[loss][reference]") {
    std::ifstream in(std::string(CRINGE_SOURCE_DIR) + "/tests/reference/loss_fixtures.json");
    REQUIRE(in.good());
    const auto fixtures = nlohmann::json::parse(in);
    const auto& cases = fixtures.at("cases");
    REQUIRE(cases.size() >= 30);
    std::set<std::string> losses_seen;
    for (const auto& c : cases) {
        const std::string name = c.at("name").get<std::string>();
        INFO("fixture " << name);
        auto input = c;  // a case is a cringe-ref loss input plus "name" and "expected"
        input.erase("name");
        input.erase("expected");
        const auto request = oracle::parse_loss_request(input);
        losses_seen.insert(request.loss);
        const auto result = oracle::evaluate_loss_request<double>(request);
        const auto& expected = c.at("expected");
        const double want = expected.at("loss").get<double>();
        CHECK(result["loss"].get<double>() == Approx(want).margin(1e-12).epsilon(1e-12));
        CHECK(result["n_supervised"].get<std::size_t>() == expected.at("n_supervised").get<std::size_t>());
        const auto& g = result["grad"];
        const auto& eg = expected.at("grad");
        REQUIRE(g.size() == eg.size());
        double worst = 0.0;
        for (std::size_t b = 0; b < g.size(); ++b)
            for (std::size_t t = 0; t < g[b].size(); ++t)
                for (std::size_t v = 0; v < g[b][t].size(); ++v)
                    worst = std::max(worst, std::abs(g[b][t][v].get<double>() - eg[b][t][v].get<double>()));
        CHECK(worst <= 1e-12);
        if (request.sampled && (request.loss == "cringe"))
            CHECK(result["sampled"] == c.at("sampled"));  // injected positives are echoed where used
    }
    CHECK(losses_seen.size() == 5);
}
