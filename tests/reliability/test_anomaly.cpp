// Anomaly mode at depth: a NaN or infinity is reported at the first node whose value is not finite
// (a leaf, an op deep inside the GPT, a log inside a composed loss, a fused loss, an exp after a
// matmul), and the message names that node's op, shapes and the file and line that created it.
// (The basic cases, log(0), exp(1000) and sqrt'(0), are in core/test_tape.cpp.)
#include "../support/error_matchers.hpp"
#include "../support/testing.hpp"

#include <limits>

using namespace cringe;
using namespace cringe::testing;

namespace {
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// "created at <this file>:<line>"
std::string here(unsigned line) { return cat("created at ", __FILE__, ":", line); }

nn::GptConfig anomaly_model_config() { return nn::GptConfig{.vocab_size = 11, .n_positions = 8, .n_embd = 8, .n_layer = 1, .n_head = 2}; }
}  // namespace

TEST_CASE("anomaly mode: a non-finite leaf is named where it is made", "[anomaly]") {
    Tape<double> tape;
    auto guard = tape.detect_anomaly();
    const unsigned v_line = __LINE__ + 1;
    auto nan_variable = [&] { return tape.variable(from_values<double>({2}, {1.0, kNan})); };
    REQUIRE_THROWS_MATCHES(nan_variable(), NumericalError,
                           Says("anomaly: forward value of variable (inputs none; output [2]) " + here(v_line) +
                                " is not finite at element 1 (value nan)"));
    const unsigned c_line = __LINE__ + 1;
    auto inf_constant = [&] { return tape.constant(from_values<double>({2, 2}, {0, 0, -kInf, 0})); };
    REQUIRE_THROWS_MATCHES(inf_constant(), NumericalError,
                           Says("anomaly: forward value of constant (inputs none; output [2,2]) " + here(c_line) +
                                " is not finite at element 2 (value -inf)"));
    Parameter<double> w("encoder.weight", from_values<double>({3}, {1.0, 2.0, kInf}));
    const unsigned p_line = __LINE__ + 1;
    auto inf_parameter = [&] { return tape.parameter(w); };
    REQUIRE_THROWS_MATCHES(inf_parameter(), NumericalError,
                           Says("anomaly: forward value of parameter 'encoder.weight' (inputs none; output [3]) " + here(p_line) +
                                " is not finite at element 2 (value inf)"));
    REQUIRE(tape.size() == 0);  // nothing non-finite was recorded
    w.value(2) = 3.0;
    REQUIRE(tape.parameter(w).value()(2) == 3.0);
}

TEST_CASE("anomaly mode: a NaN planted in a GPT weight is named at its parameter leaf", "[anomaly][nn]") {
    nn::Gpt<double> model(anomaly_model_config(), 1);
    model.parameter("transformer.h.0.mlp.c_fc.weight").value(2, 5) = kNan;  // flat element 2 * 32 + 5
    const IdTensor tokens = ids({{1, 2, 3}});
    {
        Tape<double> tape;  // without anomaly mode the NaN reaches the logits silently
        const auto logits = model.forward(tape, tokens).value();
        REQUIRE(std::any_of(logits.begin(), logits.end(), [](double x) { return std::isnan(x); }));
    }
    Tape<double> tape;
    auto guard = tape.detect_anomaly();
    REQUIRE_THROWS_MATCHES(model.forward(tape, tokens), NumericalError,
                           SaysAll({"anomaly: forward value of parameter 'transformer.h.0.mlp.c_fc.weight' (inputs none; output [8,32]) created at ",
                                    "gpt.hpp:", " is not finite at element 69 (value nan)"}));
    // The same weights as tape variables (forward_with): the leaf is the line that made the variable.
    Tape<double> tape2;
    auto guard2 = tape2.detect_anomaly();
    std::vector<Var<double>> weights;
    const unsigned line = __LINE__ + 1;
    auto add_weights = [&] { for (const auto& p : model.parameters()) weights.push_back(tape2.variable(p.value)); };
    REQUIRE_THROWS_MATCHES(add_weights(), NumericalError,
                           Says("anomaly: forward value of variable (inputs none; output [8,32]) " + here(line) +
                                " is not finite at element 69 (value nan)"));
    REQUIRE(weights.size() == 10);  // wte, wpe, ln_1 (2), c_attn (2), attn.c_proj (2), ln_2 (2); then c_fc.weight threw
}

TEST_CASE("anomaly mode: a huge GPT weight overflows first in the attention scores matmul", "[anomaly][nn]") {
    nn::Gpt<double> model(anomaly_model_config(), 1);
    model.set_attention_path(nn::AttentionPath::reference);  // attention node by node (the fused op: next test)
    auto& c_attn = model.parameter("transformer.h.0.attn.c_attn.weight").value;  // [8, 24]: q | k | v columns
    c_attn(0, 0) = 1e200;  // q, head 0, dimension 0
    c_attn(0, 8) = 1e200;  // k, head 0, dimension 0: q k^T ~ 1e400 overflows; q and k themselves are finite
    Tape<double> tape;
    auto guard = tape.detect_anomaly();
    REQUIRE_THROWS_MATCHES(model.forward(tape, ids({{1, 2, 3}})), NumericalError,
                           SaysAll({"anomaly: forward value of matmul (inputs [1,2,3,4], [1,2,3,4]; output [1,2,3,3]) created at ",
                                    "gpt.hpp:", " is not finite at element 0 (value inf)"}));
    // the recorded graph stops just before that matmul: its inputs (q and k) are the last nodes
    REQUIRE(tape.node(tape.size() - 1).op == std::string("permute"));
}

TEST_CASE("anomaly mode: the same overflow on the fused attention path is named at the fused op", "[anomaly][nn][kernels]") {
    nn::Gpt<double> model(anomaly_model_config(), 1);  // AttentionPath::fused, the default
    auto& c_attn = model.parameter("transformer.h.0.attn.c_attn.weight").value;
    c_attn(0, 0) = 1e200;  // q k^T ~ 1e400 overflows inside the op; its output (softmax of inf: NaN) is not finite
    c_attn(0, 8) = 1e200;
    Tape<double> tape;
    auto guard = tape.detect_anomaly();
    REQUIRE_THROWS_MATCHES(model.forward(tape, ids({{1, 2, 3}})), NumericalError,
                           SaysAll({"anomaly: forward value of causal_self_attention (inputs [1,3,24]; output [1,3,8]) created at ",
                                    "gpt.hpp:", " is not finite at element 0"}));
    REQUIRE(tape.node(tape.size() - 1).op == std::string("add"));  // its input qkv = a W + b is the last node
}

// Operators (x + y) cannot take the caller's line as a default argument: a node they make names
// ops/binary.hpp. The GPT calls the named ops, so its nodes name gpt.hpp (before: binary.hpp).
TEST_CASE("anomaly mode: an add inside the GPT is named at the GPT's line, not at an operator's", "[anomaly][nn]") {
    nn::Gpt<double> model(anomaly_model_config(), 1);
    model.parameter("transformer.wte.weight").value(1, 0) = 1e308;  // token 1, dimension 0
    model.parameter("transformer.wpe.weight").value(0, 0) = 1e308;  // position 0: the sum overflows
    Tape<double> tape;
    auto guard = tape.detect_anomaly();
    REQUIRE_THROWS_MATCHES(model.forward(tape, ids({{1, 2, 3}})), NumericalError,
                           SaysAll({"anomaly: forward value of add (inputs [1,3,8], [3,8]; output [1,3,8]) created at ",
                                    "gpt.hpp:", " is not finite at element 0 (value inf)"}));
}

TEST_CASE("anomaly mode: log(0) inside a loss composed from ops, and the fused loss on the same logits", "[anomaly][loss]") {
    // softmax of [0, -1000, 2] underflows to exactly 0 at element 1; its log is -inf
    const std::vector<double> values = {0.0, -1000.0, 2.0};
    Tape<double> tape;
    auto guard = tape.detect_anomaly();
    auto x = tape.variable(from_values<double>({1, 3}, values));
    auto p = softmax(x);
    REQUIRE(p.value()(0, 1) == 0.0);  // not an anomaly: 0 is finite
    IdTensor target = IdTensor::from_shape({1});
    target(0) = 1;
    const unsigned line = __LINE__ + 1;
    auto composed_nll = [&] { return -sum(gather_last(log(p), target)); };
    REQUIRE_THROWS_MATCHES(composed_nll(), NumericalError,
                           Says("anomaly: forward value of log (inputs [1,3]; output [1,3]) " + here(line) +
                                " is not finite at element 1 (value -inf)"));
    // the fused cross entropy (log-sum-exp, no log of a probability) is finite on the same logits
    Tape<double> fused;
    auto fused_guard = fused.detect_anomaly();
    auto fx = fused.variable(from_values<double>({1, 1, 3}, values));
    const auto out = loss::CrossEntropy<double>{}(fx, loss::Batch{ids({{1}}), {1}, -1, {}});
    REQUIRE(out.loss.value()() == Approx(1002.0 + std::log1p(std::exp(-2.0) + std::exp(-1002.0))));
}

TEST_CASE("anomaly mode: a fused loss whose value overflows is named at the policy call", "[anomaly][loss]") {
    // CE = logsumexp(s) - s_y = 1e308 - (-1e308) = inf, from finite logits
    const Tensor<double> logits = from_values<double>({1, 1, 2}, {1e308, -1e308});
    const loss::Batch batch{ids({{1}}), {1}, -1, {}};
    {
        Tape<double> tape;  // without anomaly mode: an infinite loss, a finite gradient (softmax - onehot)
        auto x = tape.variable(logits);
        const auto out = loss::CrossEntropy<double>{}(x, batch);
        REQUIRE(out.loss.value()() == kInf);
        tape.backward(out.loss);
        REQUIRE(x.grad()(0, 0, 0) == 1.0);
        REQUIRE(x.grad()(0, 0, 1) == -1.0);
    }
    Tape<double> tape;
    auto guard = tape.detect_anomaly();
    auto x = tape.variable(logits);
    const unsigned line = __LINE__ + 1;
    auto ce = [&] { return loss::CrossEntropy<double>{}(x, batch); };
    REQUIRE_THROWS_MATCHES(ce(), NumericalError,
                           Says("anomaly: forward value of cross_entropy (inputs [1,1,2]; output []) " + here(line) +
                                " is not finite at element 0 (value inf)"));
    // unlikelihood on a negative token of probability 1 clamps 1 - p and stays finite
    loss::Unlikelihood<double> ul;
    const auto out = ul(x, loss::Batch{ids({{0}}), {0}, -1, {}});
    REQUIRE(out.loss.value()() == Approx(-std::log(ul.clamp)));
}

TEST_CASE("anomaly mode: an exp that overflows after a matmul and a tanh", "[anomaly]") {
    Tape<double> tape;
    auto guard = tape.detect_anomaly();
    auto x = tape.variable(from_values<double>({1, 3}, {1.0, 2.0, 3.0}));
    auto w1 = tape.variable(full<double>({3, 2}, 1.0));
    auto w2 = tape.variable(from_values<double>({2, 2}, {400.0, 0.0, 400.0, 1e-3}));
    auto h = matmul(tanh(matmul(x, w1)), w2);  // [1,2]: ~800 and ~0.002, both finite
    REQUIRE(h.value()(0, 0) == Approx(800.0).epsilon(1e-4));
    const std::size_t recorded = tape.size();
    const unsigned line = __LINE__ + 1;
    auto overflow = [&] { return sum(exp(h) * 2.0); };
    REQUIRE_THROWS_MATCHES(overflow(), NumericalError,
                           Says("anomaly: forward value of exp (inputs [1,2]; output [1,2]) " + here(line) +
                                " is not finite at element 0 (value inf)"));
    REQUIRE(tape.size() == recorded);  // the exp was not recorded
    REQUIRE(std::isfinite(sum(exp(h * 0.5)).value()()));  // exp(400) fits in a double
}
