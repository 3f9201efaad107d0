// loss/registry.hpp: every policy and option by name, the messages that list them, and the engine
// skipping the fused gradient under no-grad.
#include "../support/error_matchers.hpp"
#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::loss;

TEST_CASE("registry: the policy names in order, and make_policy by name", "[loss][registry]") {
    CHECK(policy_names() == std::vector<std::string_view>{"cross_entropy", "unlikelihood", "cringe", "pairwise_cringe", "sigmoid_only"});
    CHECK(name_list(policy_names()) == "cross_entropy, unlikelihood, cringe, pairwise_cringe, sigmoid_only");
    CHECK(std::holds_alternative<Cringe<float>>(make_policy<float>("cringe")));
    CHECK(std::holds_alternative<SigmoidOnly<double>>(make_policy<double>("sigmoid_only")));
    CHECK(std::get<Cringe<double>>(make_policy<double>("cringe")).k == 5);  // defaults
    // No silent fallback: a name that is not a policy is an error listing the names.
    REQUIRE_THROWS_MATCHES(make_policy<double>("sigmoid"), ValueError,
                           testing::Says("make_policy: unknown loss \"sigmoid\"; expected one of cross_entropy, unlikelihood, cringe, "
                                         "pairwise_cringe, sigmoid_only"));
}

TEST_CASE("registry: option tables name every option and set the members they name", "[loss][registry]") {
    CHECK(all_option_names() == std::set<std::string_view>{"alpha", "k", "detach_positive", "normalization", "clamp", "margin", "tau",
                                                           "detach_gate", "loglik", "ct_on_positives", "ce_on_positives", "a_pm", "a_m"});
    Cringe<double> cringe_policy;
    std::vector<std::string_view> seen;
    for_each_option(cringe_policy, [&](std::string_view name, auto& field) {
        seen.push_back(name);
        using Field = std::remove_cvref_t<decltype(field)>;
        if constexpr (std::is_same_v<Field, long>) field = 2;
        if constexpr (std::is_same_v<Field, Normalization>) field = Normalization::separate;
    });
    CHECK(seen == std::vector<std::string_view>{"alpha", "k", "detach_positive", "normalization", "ct_on_positives", "ce_on_positives"});
    CHECK(cringe_policy.k == 2);
    CHECK(cringe_policy.normalization == Normalization::separate);
    CHECK(choice_named<LogLikelihood>("mean", "options.loglik") == LogLikelihood::mean);
    CHECK(choice_name(Normalization::separate) == "separate");
    REQUIRE_THROWS_MATCHES(choice_named<Normalization>("both", "options.normalization"), ValueError,
                           testing::Says("options.normalization is \"both\"; expected \"joint\" or \"separate\""));
}

TEST_CASE("token engine: under no-grad the loss and diagnostics are bitwise the same, and no gradient is recorded", "[loss][registry][nograd]") {
    const Tensor<double> values = testing::random_tensor({2, 3, 5}, 4);
    Batch batch{IdTensor::from_shape({2, 3}), {0, 1}, -1, {{1, 0}}};
    for (std::size_t i = 0; i < batch.targets.size(); ++i) batch.targets.data()[i] = static_cast<std::int64_t>(i % 5);
    batch.targets(1, 2) = -1;  // one pad
    for (const auto name : policy_names()) {
        INFO(name);
        std::visit([&](const auto& policy) {
            Tape<double> tape;
            const auto logits = tape.variable(values);
            Rng a(3), b(3);
            const auto with_grad = policy(logits, batch, Sampler{&a, nullptr});
            auto guard = tape.no_grad();
            const auto without = policy(logits, batch, Sampler{&b, nullptr});
            CHECK(with_grad.loss.requires_grad());
            CHECK_FALSE(without.loss.requires_grad());
            CHECK(without.loss.value()() == with_grad.loss.value()());
            CHECK((without.diagnostics.ce == with_grad.diagnostics.ce));
            CHECK((without.diagnostics.sampled == with_grad.diagnostics.sampled));
        }, make_policy<double>(name));
    }
}
