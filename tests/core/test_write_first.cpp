// Write-first adjoints (tape.hpp, WRITE-FIRST ADJOINTS): the first contribution an intermediate node
// receives in a backward assigns, later ones add, and nothing is zero-filled in advance. These tests
// make sure an adjoint buffer's stale contents (from an earlier backward) are never read: each op
// that writes through Tape::accumulate is run as the ONLY contributor to a node whose adjoint a
// first backward filled with other values, and the gradients must equal, bitwise, those of a fresh
// tape. An op that forgot an element (slice's columns outside its window, masked_fill's filled
// elements, logsumexp's all -inf rows) would leak backward 1's values there.
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::testing;

namespace {

/// An op under test: maps h (an intermediate node of `shape`, 24 elements) to some Var of the same
/// tape. With minus_inf_row, h's second row along axis 0 is -inf (logsumexp's no-gradient case).
struct WriteFirstCase {
    std::string name;
    std::function<Var<double>(const Var<double>&)> op;
    Shape shape = {4, 6};
    bool minus_inf_row = false;
};

std::vector<WriteFirstCase> write_first_cases() {
    Mask mask = xt::zeros<bool>(std::vector<std::size_t>{4, 6});
    mask(0, 1) = true;
    mask(2, 5) = true;
    mask(3, 0) = true;
    Mask last_column_mask = xt::zeros<bool>(std::vector<std::size_t>{6});
    last_column_mask(5) = true;
    const IdTensor targets = ids({{1, 0}, {5, 2}});  // for the fused cross-entropy on h as [2,2,6] logits
    return {
        {"slice (columns outside the window get nothing)", [](const Var<double>& h) { return slice(h, -1, 2, 4); }},
        {"slice of rows", [](const Var<double>& h) { return slice(h, 0, 1, 3); }},
        {"masked_fill", [mask](const Var<double>& h) { return masked_fill(h, mask, -5.0); }},
        {"masked_fill, broadcast mask", [last_column_mask](const Var<double>& h) { return masked_fill(h, last_column_mask, 0.0); }},
        {"matmul (h as a)", [](const Var<double>& h) { return matmul(h, h.tape().constant(random_tensor({6, 3}, 11))); }},
        {"matmul (h as b, transposed)", [](const Var<double>& h) { return matmul(h.tape().constant(random_tensor({5, 6}, 12)), h, true); }},
        {"matmul (h as both operands)", [](const Var<double>& h) { return matmul(h, h, true); }},
        {"batched matmul", [](const Var<double>& h) { return matmul(h, h.tape().constant(random_tensor({2, 6, 3}, 13))); }, {2, 2, 6}},
        {"batched matmul, b transposed", [](const Var<double>& h) { return matmul(h.tape().constant(random_tensor({2, 3, 6}, 13)), h, true); }, {2, 2, 6}},
        {"reshape", [](const Var<double>& h) { return reshape(h, {2, 12}); }},
        {"permute", [](const Var<double>& h) { return permute(h, {0, 2, 1, 3}); }, {2, 2, 3, 2}},
        {"permute, strided innermost axis", [](const Var<double>& h) { return permute(h, {2, 0, 1}); }, {2, 3, 4}},
        {"transpose", [](const Var<double>& h) { return transpose(h); }},
        {"concat", [](const Var<double>& h) { return concat(std::vector<Var<double>>{h.tape().constant(random_tensor({2, 6}, 20)), h}, 0); }},
        {"concat of h twice", [](const Var<double>& h) { return concat(std::vector<Var<double>>{h, h}, -1); }},
        {"rdiv", [](const Var<double>& h) { return rdiv(2.0, h); }},
        {"softmax", [](const Var<double>& h) { return softmax(h); }},
        {"softmax along axis 0", [](const Var<double>& h) { return softmax(h, 0); }},
        {"log_softmax", [](const Var<double>& h) { return log_softmax(h); }},
        {"logsumexp with an all -inf row (no gradient there)", [](const Var<double>& h) { return logsumexp(h); }, {4, 6}, true},
        {"layer_norm (input)", [](const Var<double>& h) {
             Tape<double>& t = h.tape();
             return layer_norm(h, t.constant(positive_tensor({6}, 14)), t.constant(random_tensor({6}, 15)));
         }},
        {"gelu", [](const Var<double>& h) { return gelu(h); }},
        {"tanh", [](const Var<double>& h) { return tanh(h); }},
        {"pow", [](const Var<double>& h) { return pow(h, 3.0); }},
        {"neg", [](const Var<double>& h) { return -h; }},
        {"affine", [](const Var<double>& h) { return affine(h, 0.25, 1.0); }},
        {"add, same shapes", [](const Var<double>& h) { return add(h, h.tape().constant(random_tensor({4, 6}, 16))); }},
        {"add, h broadcast as a bias", [](const Var<double>& h) { return add(h.tape().constant(random_tensor({3, 4, 6}, 17)), h); }},
        {"add, h broadcast along a middle axis", [](const Var<double>& h) { return add(h.tape().constant(random_tensor({4, 3, 6}, 18)), h); }, {4, 1, 6}},
        {"sub (h on the right)", [](const Var<double>& h) { return sub(h.tape().constant(random_tensor({4, 6}, 19)), h); }},
        {"dropout", [](const Var<double>& h) {
             Rng rng(3);
             return dropout(h, 0.5, rng);
         }},
        {"fused cross-entropy", [targets](const Var<double>& h) {
             const loss::Batch batch{targets, {1, 1}, -1, {}};
             return loss::CrossEntropy<double>{}(h, batch).loss;
         }, {2, 2, 6}},
    };
}

/// sum(y * r) for a fixed random r shaped like y: a scalar whose cotangent for y is r.
Var<double> weighted_sum(const Var<double>& y, std::uint64_t seed) {
    return sum(mul(y, y.tape().constant(random_tensor(to_shape(y.value().shape()), seed))));
}

/// h = tanh(x w) in the case's shape (an intermediate node), with a -inf row if the case asks.
Var<double> write_first_input(const WriteFirstCase& c, const Var<double>& x, const Var<double>& w) {
    Var<double> h = tanh(reshape(matmul(x, w), c.shape));
    if (!c.minus_inf_row) return h;
    Mask row = xt::zeros<bool>(std::vector<std::size_t>{c.shape[0], 1});  // for a 2-D h
    row(1, 0) = true;
    return masked_fill(h, row, -std::numeric_limits<double>::infinity());
}

/// The gradients of x and w for out = weighted_sum(op(h)) on a fresh tape.
std::pair<Tensor<double>, Tensor<double>> fresh_gradients(const WriteFirstCase& c, const Tensor<double>& x0,
                                                          const Tensor<double>& w0) {
    Tape<double> tape;
    auto x = tape.variable(x0);
    auto w = tape.variable(w0);
    tape.backward(weighted_sum(c.op(write_first_input(c, x, w)), 21));
    return {x.grad(), w.grad()};
}

}  // namespace

TEST_CASE("write-first: an op that is a node's only contributor never reads the adjoint's stale values", "[tape][write-first]") {
    const Tensor<double> x0 = random_tensor({4, 5}, 1), w0 = random_tensor({5, 6}, 2, 0.5);
    for (const WriteFirstCase& c : write_first_cases()) {
        INFO(c.name);
        Tape<double> tape;
        auto x = tape.variable(x0);
        auto w = tape.variable(w0);
        auto h = write_first_input(c, x, w);  // intermediate: its adjoint is write-first
        auto out_op = weighted_sum(c.op(h), 21);
        // Backward 1 fills h's adjoint (and every adjoint below it) with other values: h also feeds
        // a second branch that covers all its elements.
        auto out_both = add(out_op, weighted_sum(exp(h), 22));
        tape.backward(out_both, BackwardOptions{.retain_graph = true});
        const Tensor<double> h_grad_both = h.grad();
        // Backward 2 reaches h through the op alone: the op's store is the first (and only) one.
        tape.zero_grad();
        tape.backward(out_op, BackwardOptions{.retain_graph = true});
        const auto [x_grad, w_grad] = fresh_gradients(c, x0, w0);
        REQUIRE(x.grad() == x_grad);  // bitwise
        REQUIRE(w.grad() == w_grad);
        REQUIRE(h.grad() != h_grad_both);  // the test is live: backward 1 left other values in the buffer
        // Backward 3 from the output that does not reach the op: out_both's own branch alone.
        tape.zero_grad();
        auto out_exp = weighted_sum(exp(h), 22);
        tape.backward(out_exp, BackwardOptions{.retain_graph = true});
        Tape<double> fresh;
        auto fx = fresh.variable(x0);
        auto fw = fresh.variable(w0);
        fresh.backward(weighted_sum(exp(write_first_input(c, fx, fw)), 22));
        REQUIRE(x.grad() == fx.grad());
        REQUIRE(w.grad() == fw.grad());
    }
}

TEST_CASE("write-first: a node that gets no contribution in a later backward reads as zero", "[tape][write-first]") {
    Tape<double> tape;
    auto x = tape.variable(random_tensor({3, 4}, 5));
    auto h = tanh(x);
    auto y = softmax(h);
    auto out1 = weighted_sum(y, 6);
    tape.backward(out1, BackwardOptions{.retain_graph = true});
    REQUIRE(xt::any(xt::not_equal(y.grad(), 0.0)));
    REQUIRE(xt::any(xt::not_equal(h.grad(), 0.0)));
    // out2 is recorded after y and h but does not depend on them: backward 2 passes over their nodes
    // without contributing, and their stale adjoints must neither be read (h's backward must not run
    // into x) nor be reported.
    auto out2 = weighted_sum(x, 7);
    tape.zero_grad();
    tape.backward(out2);
    REQUIRE(y.grad() == xt::zeros<double>({3, 4}));
    REQUIRE(h.grad() == xt::zeros<double>({3, 4}));
    REQUIRE(x.grad() == random_tensor({3, 4}, 7));  // d sum(x * r) / dx = r exactly, nothing stale added
}

TEST_CASE("write-first: a later backward's contribution does not include an earlier one's", "[tape][write-first]") {
    Tape<double> tape;
    auto x = tape.variable(random_tensor({3, 4}, 8));
    auto w = tape.variable(random_tensor({4, 5}, 9));
    auto h = matmul(x, w);
    auto y = gelu(h);
    const Tensor<double> cotangent1 = random_tensor({3, 5}, 10), cotangent2 = random_tensor({3, 5}, 11);
    tape.backward(y, cotangent1, BackwardOptions{.retain_graph = true});
    tape.zero_grad();
    tape.backward(y, cotangent2, BackwardOptions{.retain_graph = true});
    Tape<double> fresh;
    auto fx = fresh.variable(x.value());
    auto fw = fresh.variable(w.value());
    auto fh = matmul(fx, fw);
    fresh.backward(gelu(fh), cotangent2);
    REQUIRE(h.grad() == fh.grad());  // bitwise: cotangent2's gradient alone
    REQUIRE(x.grad() == fx.grad());
    REQUIRE(w.grad() == fw.grad());
}

TEST_CASE("write-first: leaves still accumulate across backward calls through every store", "[tape][write-first]") {
    // A variable leaf is never written first: slice, masked_fill and matmul add into its gradient.
    Tape<double> tape;
    auto x = tape.variable(random_tensor({4, 6}, 12));
    Mask mask = xt::zeros<bool>(std::vector<std::size_t>{4, 6});
    mask(1, 2) = true;
    auto out = add(weighted_sum(slice(x, -1, 1, 3), 13), weighted_sum(masked_fill(x, mask, 0.0), 14));
    tape.backward(out, BackwardOptions{.retain_graph = true});
    const Tensor<double> once = x.grad();
    tape.backward(out);
    // Backward 2 adds its two contributions one by one onto backward 1's sum: equal to twice it up to
    // rounding (a write-first leaf would give `once` here, a stale-free one 0).
    require_close(x.grad(), Tensor<double>(once + once), 1e-12);
    REQUIRE(once(1, 2) == random_tensor({4, 2}, 13)(1, 1));  // masked: only the slice's contribution
    REQUIRE(once(0, 0) == random_tensor({4, 6}, 14)(0, 0));  // outside the slice: only masked_fill's
}
