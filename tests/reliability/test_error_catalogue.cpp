// docs/errors.md, checked row by row: tensors and the tape, Rng, ops, losses, optimisers.
// Each case triggers one documented precondition violation and checks the exception's type and its
// whole message (the catalogue's text), then that valid input next to it is accepted.
// The model, decoding, training and file rows are in test_error_catalogue_model.cpp.
#include "../support/error_matchers.hpp"
#include "../support/testing.hpp"

#include <limits>

using namespace cringe;
using namespace cringe::loss;
using namespace cringe::testing;

TEST_CASE("catalogue: from_values with the wrong number of values", "[errors][catalogue][tensor]") {
    REQUIRE_THROWS_MATCHES(from_values<double>({2, 2}, {1, 2, 3}), ShapeError,
                           Says("from_values: 3 values do not fill shape [2,2] (4 elements)"));
    REQUIRE_THROWS_MATCHES(from_values<double>({}, {1, 2}), ShapeError,
                           Says("from_values: 2 values do not fill shape [] (1 elements)"));
    const auto ok = from_values<double>({2, 2}, {1, 2, 3, 4});
    REQUIRE(ok(1, 0) == 3.0);
}

TEST_CASE("catalogue: backward from a Var of another tape, or of none", "[errors][catalogue][tape]") {
    Tape<double> mine, other;
    auto x = other.variable(from_values<double>({2}, {1.0, 2.0}));
    auto y = sum(x * x);
    const std::string expected =
        "backward: an input Var belongs to another tape (or to none); all inputs of an op must come from the same tape";
    REQUIRE_THROWS_MATCHES(mine.backward(y), TapeError, Says(expected));
    REQUIRE_THROWS_MATCHES(mine.backward(y, scalar_tensor(1.0)), TapeError, Says(expected));
    REQUIRE_THROWS_MATCHES(mine.backward(Var<double>{}), TapeError, Says(expected));
    other.backward(y);  // on its own tape: fine, and nothing was consumed by the refused calls
    REQUIRE(x.grad()(1) == 4.0);
}

TEST_CASE("catalogue: Rng::below(0)", "[errors][catalogue][rng]") {
    Rng rng(3);
    Rng twin(3);
    REQUIRE_THROWS_MATCHES(rng.below(0), ValueError,
                           Says("Rng::below: n is 0; expected n >= 1 (an empty range has no element to draw)"));
    REQUIRE(rng.below(1) == 0);
    REQUIRE(twin.below(1) == 0);
    REQUIRE(rng.next_u64() == twin.next_u64());  // the refused call drew nothing
}

TEST_CASE("catalogue: transpose with an axis out of range", "[errors][catalogue][ops]") {
    Tape<double> tape;
    auto x = tape.variable(zeros<double>({2, 3}));
    REQUIRE_THROWS_MATCHES(transpose(x, 0, 5), ShapeError,
                           Says("transpose: axis 5 is out of range for a tensor of rank 2; expected -2 <= axis < 2"));
    REQUIRE_THROWS_MATCHES(transpose(x, -3, 1), ShapeError,
                           Says("transpose: axis -3 is out of range for a tensor of rank 2; expected -2 <= axis < 2"));
    REQUIRE(transpose(x, -1, 0).shape() == Shape{3, 2});
}

TEST_CASE("catalogue: mean of an empty tensor", "[errors][catalogue][ops]") {
    Tape<double> tape;
    auto x = tape.variable(zeros<double>({0, 3}));
    REQUIRE_THROWS_MATCHES(mean(x), ShapeError, Says("mean: reducing an empty tensor of shape [0,3]"));
    REQUIRE_THROWS_MATCHES(mean(x, {0}), ShapeError, Says("mean: reducing an empty tensor of shape [0,3]"));
    REQUIRE(sum(x).value()() == 0.0);  // sum of nothing is 0, not an error
}

TEST_CASE("catalogue: max along an empty axis", "[errors][catalogue][ops]") {
    Tape<double> tape;
    auto x = tape.variable(zeros<double>({2, 0}));
    REQUIRE_THROWS_MATCHES(max(x, 1), ShapeError, Says("max: axis 1 of shape [2,0] is empty"));
    REQUIRE_THROWS_MATCHES(max(x, -1), ShapeError, Says("max: axis 1 of shape [2,0] is empty"));
    REQUIRE(max(x, 0).shape() == Shape{0});  // reducing the non-empty axis of nothing: fine
}

TEST_CASE("catalogue: softmax, log_softmax, logsumexp along an empty axis", "[errors][catalogue][ops]") {
    Tape<double> tape;
    auto x = tape.variable(zeros<double>({2, 0}));
    REQUIRE_THROWS_MATCHES(softmax(x), ShapeError, Says("softmax: axis 1 of shape [2,0] is empty"));
    REQUIRE_THROWS_MATCHES(log_softmax(x, 1), ShapeError, Says("log_softmax: axis 1 of shape [2,0] is empty"));
    REQUIRE_THROWS_MATCHES(logsumexp(x, -1), ShapeError, Says("logsumexp: axis 1 of shape [2,0] is empty"));
}

TEST_CASE("catalogue: layer_norm of a scalar and of an empty last axis", "[errors][catalogue][ops]") {
    Tape<double> tape;
    auto w1 = tape.variable(full<double>({1}, 1.0)), b1 = tape.variable(zeros<double>({1}));
    REQUIRE_THROWS_MATCHES(layer_norm(tape.variable(scalar_tensor(2.0)), w1, b1), ShapeError,
                           Says("layer_norm: input is a scalar; expected shape [..., C]"));
    auto w0 = tape.variable(zeros<double>({0})), b0 = tape.variable(zeros<double>({0}));
    REQUIRE_THROWS_MATCHES(layer_norm(tape.variable(zeros<double>({2, 0})), w0, b0), ShapeError,
                           Says("layer_norm: input [2,0] has an empty last axis; expected C >= 1"));
    auto y = layer_norm(tape.variable(from_values<double>({1, 2}, {1.0, 3.0})), tape.variable(full<double>({2}, 1.0)),
                        tape.variable(zeros<double>({2})), 0.0);
    REQUIRE(y.value()(0, 0) == Approx(-1.0));
    REQUIRE(y.value()(0, 1) == Approx(1.0));
}

TEST_CASE("catalogue: masked_fill with a mask that would grow x", "[errors][catalogue][ops]") {
    Tape<double> tape;
    auto x = tape.variable(from_values<double>({3}, {1, 2, 3}));
    const Mask grows = Mask::from_shape({2, 3});
    REQUIRE_THROWS_MATCHES(masked_fill(x, grows, -1.0), ShapeError,
                           Says("masked_fill: mask [2,3] does not broadcast to x [3] without growing it; "
                                "expected a mask broadcastable to x"));
    Mask fits = Mask::from_shape({1, 3});
    fits(0, 0) = false;
    fits(0, 1) = true;
    fits(0, 2) = false;
    auto x2 = tape.variable(from_values<double>({2, 3}, {1, 2, 3, 4, 5, 6}));
    auto y = masked_fill(x2, fits, -1.0);
    REQUIRE(y.value()(1, 1) == -1.0);
    REQUIRE(y.value()(1, 2) == 6.0);
}

// ---- losses ------------------------------------------------------------------------------------

namespace {
template <class Policy>
void require_v1_refused(const Policy& policy) {
    Tape<double> tape;
    auto logits = tape.variable(zeros<double>({1, 2, 1}));
    const Batch batch{ids({{0, 0}}), {1}, -1, {{0, 0}}};
    IdTensor injected = ids({{-1, -1}});
    INFO(Policy::name);
    REQUIRE_THROWS_MATCHES(policy(logits, batch, Sampler{nullptr, &injected}), ShapeError,
                           Says(cat(Policy::name, ": logits have V = 1; expected V >= 2")));
}
}  // namespace

TEST_CASE("catalogue: every loss refuses V = 1", "[errors][catalogue][loss]") {
    require_v1_refused(CrossEntropy<double>{});
    require_v1_refused(Unlikelihood<double>{});
    require_v1_refused(Cringe<double>{});
    require_v1_refused(PairwiseCringe<double>{});
    require_v1_refused(SigmoidOnly<double>{});
}

TEST_CASE("catalogue: injected sampled ids of the wrong shape", "[errors][catalogue][loss]") {
    Tape<double> tape;
    auto logits = tape.variable(zeros<double>({1, 2, 4}));
    const Batch batch{ids({{1, 2}}), {0}, 0, {}};
    const IdTensor wrong = ids({{-1, -1}, {-1, -1}});
    REQUIRE_THROWS_MATCHES(Cringe<double>{}(logits, batch, Sampler{nullptr, &wrong}), ShapeError,
                           Says("cringe: injected sampled ids have shape [2,2]; expected [1,2]"));
    const Batch pair_batch{ids({{1, 2}}), {0}, 0, {{0, 0}}};
    const IdTensor flat_ids = IdTensor::from_shape({2});
    REQUIRE_THROWS_MATCHES(PairwiseCringe<double>{}(logits, pair_batch, Sampler{nullptr, &flat_ids}), ShapeError,
                           Says("pairwise_cringe: injected sampled ids have shape [2]; expected [1,2]"));
    const IdTensor right = ids({{3, 3}});
    const auto out = Cringe<double>{}(logits, batch, Sampler{nullptr, &right});
    REQUIRE(out.diagnostics.sampled(0, 1) == 3);
}

TEST_CASE("catalogue: unlikelihood clamp outside (0, 1)", "[errors][catalogue][loss]") {
    Tape<double> tape;
    auto logits = tape.variable(zeros<double>({1, 1, 2}));
    const Batch batch{ids({{1}}), {0}, -1, {}};
    for (double clamp : {0.0, 1.0, -0.5, std::numeric_limits<double>::quiet_NaN()}) {
        Unlikelihood<double> ul;
        ul.clamp = clamp;
        REQUIRE_THROWS_MATCHES(ul(logits, batch), ValueError,
                               Says(cat("unlikelihood: clamp is ", clamp, "; expected 0 < clamp < 1")));
        REQUIRE_THROWS_MATCHES(ul.validate_options(), ValueError, Says(cat("unlikelihood: clamp is ", clamp, "; expected 0 < clamp < 1")));
    }
    Unlikelihood<double> ul;
    ul.clamp = 1e-3;
    REQUIRE(ul(logits, batch).loss.value()() == Approx(std::log(2.0)));  // -log(1 - 1/2)
}

TEST_CASE("catalogue: pairwise_cringe tau <= 0 and a non-finite margin", "[errors][catalogue][loss]") {
    Tape<double> tape;
    auto logits = tape.variable(zeros<double>({2, 1, 3}));
    const Batch batch{ids({{1}, {2}}), {1, 0}, -1, {{0, 1}}};
    Rng rng(4);
    const Sampler sampler{&rng, nullptr};
    PairwiseCringe<double> p;
    p.tau = 0.0;
    REQUIRE_THROWS_MATCHES(p(logits, batch, sampler), ValueError, Says("pairwise_cringe: tau is 0; expected tau > 0"));
    p.tau = -2.0;
    REQUIRE_THROWS_MATCHES(p(logits, batch, sampler), ValueError, Says("pairwise_cringe: tau is -2; expected tau > 0"));
    p.tau = 1.0;
    p.margin = std::numeric_limits<double>::infinity();
    REQUIRE_THROWS_MATCHES(p(logits, batch, sampler), ValueError, Says("pairwise_cringe: margin is inf; expected a finite number"));
    p.margin = std::numeric_limits<double>::quiet_NaN();
    REQUIRE_THROWS_MATCHES(p(logits, batch, sampler), ValueError, Says("pairwise_cringe: margin is nan; expected a finite number"));
    p.margin = 0.0;
    REQUIRE(std::isfinite(p(logits, batch, sampler).loss.value()()));
}

TEST_CASE("catalogue: sigmoid_only a_pm and a_m negative or not finite", "[errors][catalogue][loss]") {
    Tape<double> tape;
    auto logits = tape.variable(zeros<double>({1, 1, 2}));
    const Batch batch{ids({{1}}), {1}, -1, {}};
    SigmoidOnly<double> s;
    s.a_pm = -1;
    REQUIRE_THROWS_MATCHES(s(logits, batch), ValueError, Says("sigmoid_only: a_pm is -1; expected a finite a_pm >= 0"));
    s.a_pm = std::numeric_limits<double>::infinity();
    REQUIRE_THROWS_MATCHES(s(logits, batch), ValueError, Says("sigmoid_only: a_pm is inf; expected a finite a_pm >= 0"));
    s.a_pm = 1;
    s.a_m = -0.5;
    REQUIRE_THROWS_MATCHES(s(logits, batch), ValueError, Says("sigmoid_only: a_m is -0.5; expected a finite a_m >= 0"));
    s.a_m = std::numeric_limits<double>::quiet_NaN();
    REQUIRE_THROWS_MATCHES(s(logits, batch), ValueError, Says("sigmoid_only: a_m is nan; expected a finite a_m >= 0"));
    s.a_m = 0;
    REQUIRE(std::isfinite(s(logits, batch).loss.value()()));
}

// ---- optimisers --------------------------------------------------------------------------------

namespace {
using Adam = optim::AdamW<double>;
template <class Edit>
Adam::Options adam_with(Edit edit) {
    Adam::Options o;
    edit(o);
    return o;
}
}  // namespace

TEST_CASE("catalogue: AdamW options", "[errors][catalogue][optim]") {
    Parameter<double> w("w", from_values<double>({2}, {1.0, 2.0}));
    std::vector<Parameter<double>*> params{&w};
    REQUIRE_THROWS_MATCHES(Adam(params, adam_with([](Adam::Options& o) { o.lr = -1; })), ValueError, Says("AdamW: lr is -1; expected >= 0"));
    REQUIRE_THROWS_MATCHES(Adam(params, adam_with([](Adam::Options& o) { o.lr = std::numeric_limits<double>::quiet_NaN(); })), ValueError,
                           Says("AdamW: lr is nan; expected >= 0"));
    REQUIRE_THROWS_MATCHES(Adam(params, adam_with([](Adam::Options& o) { o.beta1 = 1; })), ValueError,
                           Says("AdamW: beta1 is 1; expected 0 <= beta1 < 1"));
    REQUIRE_THROWS_MATCHES(Adam(params, adam_with([](Adam::Options& o) { o.beta1 = -0.1; })), ValueError,
                           Says("AdamW: beta1 is -0.1; expected 0 <= beta1 < 1"));
    REQUIRE_THROWS_MATCHES(Adam(params, adam_with([](Adam::Options& o) { o.beta2 = 1; })), ValueError,
                           Says("AdamW: beta2 is 1; expected 0 <= beta2 < 1"));
    REQUIRE_THROWS_MATCHES(Adam(params, adam_with([](Adam::Options& o) { o.eps = 0; })), ValueError, Says("AdamW: eps is 0; expected > 0"));
    REQUIRE_THROWS_MATCHES(Adam(params, adam_with([](Adam::Options& o) { o.weight_decay = -1; })), ValueError,
                           Says("AdamW: weight_decay is -1; expected >= 0"));
    Adam ok(params, adam_with([](Adam::Options& o) { o.lr = 0; o.beta1 = 0; o.weight_decay = 0; }));  // the boundaries are allowed
    w.grad(0) = 1.0;
    ok.step();
    REQUIRE(w.value(0) == 1.0);  // lr 0 moves nothing
}

TEST_CASE("catalogue: AdamW::load_state with moments that do not fit its parameters", "[errors][catalogue][optim]") {
    Parameter<double> a("a", zeros<double>({2, 2})), b("b", zeros<double>({3}));
    Adam adam({&a, &b}, {});
    const std::vector<Tensor<double>> fit = {zeros<double>({2, 2}), zeros<double>({3})};
    REQUIRE_THROWS_MATCHES(adam.load_state({zeros<double>({2, 2})}, fit, 1), ValueError,
                           Says("AdamW::load_state: 1 first moments; expected 2 (one per parameter)"));
    REQUIRE_THROWS_MATCHES(adam.load_state(fit, {zeros<double>({2, 2}), zeros<double>({4})}, 1), ShapeError,
                           Says("AdamW::load_state: second moments[1] (b) has shape [4]; expected [3], its parameter's"));
    std::vector<Tensor<double>> negative = fit;
    negative[1](2) = -0.5;
    REQUIRE_THROWS_MATCHES(adam.load_state(fit, negative, 1), ValueError,
                           Says("AdamW::load_state: second moments[1] (b) element 2 is -0.5; expected a finite second moment >= 0"));
    std::vector<Tensor<double>> infinite = fit;
    infinite[0](1, 1) = std::numeric_limits<double>::infinity();
    REQUIRE_THROWS_MATCHES(adam.load_state(infinite, fit, 1), ValueError,
                           Says("AdamW::load_state: first moments[0] (a) element 3 is inf; expected a finite number"));
    REQUIRE(adam.steps_taken() == 0);  // nothing changed
    // A state that fits is loaded in place: the same parameters move, from the loaded moments and step count.
    std::vector<Tensor<double>> m = fit, v = fit;
    m[1](1) = 0.1;
    v[1](1) = 0.01;
    adam.load_state(m, v, 1);
    REQUIRE(adam.steps_taken() == 1);
    b.grad(1) = 1.0;
    adam.step();  // t = 2: m = 0.9*0.1 + 0.1 = 0.19, v = 0.999*0.01 + 0.001 = 0.01099
    const double m_hat = 0.19 / (1 - 0.9 * 0.9), v_hat = 0.01099 / (1 - 0.999 * 0.999);
    REQUIRE(b.value(1) == Approx(-1e-3 * m_hat / (std::sqrt(v_hat) + 1e-8)));
    REQUIRE(a.value(0, 0) == 0.0);
}

TEST_CASE("catalogue: Sgd with a negative learning rate", "[errors][catalogue][optim]") {
    Parameter<double> w("w", zeros<double>({2}));
    REQUIRE_THROWS_MATCHES(optim::Sgd<double>({&w}, {.lr = -1}), ValueError, Says("Sgd: lr is -1; expected >= 0"));
    REQUIRE_THROWS_MATCHES(optim::Sgd<double>({&w}, {.lr = std::numeric_limits<double>::quiet_NaN()}), ValueError,
                           Says("Sgd: lr is nan; expected >= 0"));
}

TEST_CASE("catalogue: clip_grad_norm with max_norm <= 0", "[errors][catalogue][optim]") {
    Parameter<double> w("w", zeros<double>({2}));
    w.grad(0) = 3.0;
    w.grad(1) = 4.0;
    std::vector<Parameter<double>*> params{&w};
    REQUIRE_THROWS_MATCHES(optim::clip_grad_norm(params, 0.0), ValueError, Says("clip_grad_norm: max_norm is 0; expected > 0"));
    REQUIRE_THROWS_MATCHES(optim::clip_grad_norm(params, -1.0), ValueError, Says("clip_grad_norm: max_norm is -1; expected > 0"));
    REQUIRE(w.grad(0) == 3.0);  // a refused call leaves the gradients alone
    REQUIRE(optim::clip_grad_norm(params, 1.0) == Approx(5.0));
    REQUIRE(w.grad(1) == Approx(0.8).epsilon(1e-6));
}

TEST_CASE("catalogue: WarmupCosine peak_lr < min_lr or min_lr < 0", "[errors][catalogue][optim]") {
    const optim::WarmupCosine inverted{.peak_lr = 0.1, .min_lr = 0.2, .warmup_steps = 0, .total_steps = 10};
    REQUIRE_THROWS_MATCHES(inverted.validate(), ValueError,
                           Says("WarmupCosine: peak_lr 0.1, min_lr 0.2; expected peak_lr >= min_lr >= 0"));
    const optim::WarmupCosine negative{.peak_lr = 0.1, .min_lr = -1, .warmup_steps = 0, .total_steps = 10};
    REQUIRE_THROWS_MATCHES(negative.validate(), ValueError,
                           Says("WarmupCosine: peak_lr 0.1, min_lr -1; expected peak_lr >= min_lr >= 0"));
    const optim::WarmupCosine flat{.peak_lr = 0.1, .min_lr = 0.1, .warmup_steps = 0, .total_steps = 10};
    REQUIRE_NOTHROW(flat.validate());
    REQUIRE(flat(5) == Approx(0.1));
}
