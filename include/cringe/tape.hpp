// cringe/tape.hpp - the tape: Var handles, nodes in creation order, one reverse loop for backward.
//
// THE TAPE INVARIANT. Nodes are appended in creation order, and an op can only take existing nodes as
// inputs, so every node's inputs sit at smaller indices. Creation order is therefore a topological
// order, and backward is a single loop from the output down to index 0: no recursion (deep graphs
// cannot overflow the stack) and no sort (a node used many times is visited once, after all its
// users have added their contributions to its adjoint).
//
// Each node stores an evaluated value tensor and, during backward, an adjoint tensor of the same
// shape, plus a closure that adds its adjoint's contribution into its inputs' adjoints.
//
// Accumulation rules (the ones PyTorch users expect):
//  - leaves made with variable() accumulate their gradient across backward calls until zero_grad();
//  - Parameter leaves accumulate into Parameter::grad until the Parameter (or optimiser) zeroes it;
//  - adjoints of intermediate nodes are reset at the start of every backward, so calling backward
//    twice (retain_graph) after zero_grad gives bitwise-identical gradients.
// clear() drops every node but keeps the vector's capacity, so a training loop that clears the tape
// each step does not grow.
//
// WRITE-FIRST ADJOINTS. An intermediate node's adjoint is not zero-filled when a backward starts:
// the first contribution it receives in that backward ASSIGNS, every later one ADDS (adjoint_live
// says which; an adjoint that received nothing reads as zero). This saves a full write of every
// adjoint per backward (a memset of the whole graph's size). The decision lives in one place,
// Tape::accumulate: a backward closure hands it the contribution (a whole-tensor expression) or a
// function that writes through a `store` (StoreAssign or StoreAdd), and never decides itself. An op
// that writes only part of an input's adjoint (slice, masked_fill) passes the rest to
// store.untouched(), which zeroes it on the first contribution and leaves it alone after. Scatters
// that may hit one element twice (embedding, gather, reductions) take adjoint(i), which zero-fills
// on first use, and add. Leaves never take the write-first path: variables and Parameters
// accumulate across backward calls by design, so accumulate() always adds into them.
// Results are bitwise those of zero-fill-then-add, since 0 + x == x for every x except one: an
// exact zero contribution of negative sign (-0) stays -0 when assigned, where 0 + (-0) gave +0.
//
// GENERATIONS. Every tape, at construction and at each clear(), takes a new generation id from one
// process-wide counter and registers it as live; clear() and the destructor retire it. A Var stores
// its tape's generation, and every access checks that it is still live BEFORE touching the tape:
// a Var kept past clear() or past its tape's lifetime throws TapeError (no use-after-free), and a
// new tape that happens to occupy the old one's address has another generation, so a stale Var can
// never read its values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <source_location>
#include <unordered_set>
#include <version>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/gemm.hpp"
#include "dual.hpp"
#include "error.hpp"
#include "tensor.hpp"

#ifndef CRINGE_ANOMALY_MODE_DEFAULT
#define CRINGE_ANOMALY_MODE_DEFAULT false
#endif

namespace cringe {

template <class T>
class Tape;

/// Where a node was created (anomaly messages name it). std::source_location where the standard
/// library provides it; otherwise (clang 14 with libstdc++ 12, used for the fuzzers) the same two
/// fields from the compiler builtins that std::source_location is built on.
#if defined(__cpp_lib_source_location)
using Where = std::source_location;
#else
struct Where {
    static constexpr Where current(const char* file = __builtin_FILE(), unsigned line = __builtin_LINE()) noexcept {
        Where w;
        w.file_ = file;
        w.line_ = line;
        return w;
    }
    constexpr const char* file_name() const noexcept { return file_; }
    constexpr unsigned line() const noexcept { return line_; }

private:
    const char* file_ = "";
    unsigned line_ = 0;
};
#endif

namespace detail {

/// The process-wide set of live tape generations (see GENERATIONS above). Leaked on purpose: a tape
/// destroyed during static destruction must still find it. Guarded by a mutex, as tapes on
/// different threads share it.
class TapeGenerations {
public:
    /// A new id (never reused), marked live.
    static std::uint64_t open() {
        Registry& r = registry();
        const std::lock_guard<std::mutex> lock(r.mutex);
        const std::uint64_t id = ++r.last;
        r.live.insert(id);
        return id;
    }
    static void retire(std::uint64_t id) {
        Registry& r = registry();
        const std::lock_guard<std::mutex> lock(r.mutex);
        r.live.erase(id);
    }
    static bool is_live(std::uint64_t id) {
        Registry& r = registry();
        const std::lock_guard<std::mutex> lock(r.mutex);
        return r.live.count(id) != 0;
    }

private:
    struct Registry {
        std::mutex mutex;
        std::uint64_t last = 0;
        std::unordered_set<std::uint64_t> live;
    };
    static Registry& registry() {
        static Registry* r = new Registry;
        return *r;
    }
};

/// An Eigen array or array expression (Eigen returns its expressions const-qualified, hence the
/// remove_cvref: Tape::accumulate must never take one for a function to call).
template <class E>
concept EigenArray = std::is_base_of_v<Eigen::ArrayBase<std::remove_cvref_t<E>>, std::remove_cvref_t<E>>;

}  // namespace detail

/// A named trainable tensor that outlives tapes (model weights). grad accumulates across steps
/// until zero_grad().
template <class T>
struct Parameter {
    /// The Hugging Face name ("transformer.h.0.ln_1.weight").
    std::string name;
    /// The current value.
    Tensor<T> value;
    /// The accumulated gradient.
    Tensor<T> grad;

    Parameter() = default;
    /// A parameter named `n` with value `v` and a zero gradient.
    Parameter(std::string n, Tensor<T> v) : name(std::move(n)), value(std::move(v)), grad(value.shape()) {
        grad.fill(T(0));
    }
    /// Sets the gradient to zeros of the value's shape.
    void zero_grad() {
        if (grad.shape() != value.shape()) grad.resize(value.shape());
        grad.fill(T(0));
    }
};

/// A handle to one node of a tape: cheap to copy, valid until the tape is cleared.
template <class T>
class Var {
public:
    /// The scalar type.
    using value_type = T;  // the scalar type (lets generic code write typename V::value_type)

    Var() = default;

    const Tensor<T>& value() const { return tape("Var::value").value(index_); }
    /// The gradient of the last backward with respect to this node (zeros if none reached it).
    const Tensor<T>& grad() const { return tape("Var::grad").grad(index_); }
    Shape shape() const { return to_shape(value().shape()); }
    std::size_t rank() const { return value().dimension(); }
    std::size_t size() const { return value().size(); }
    bool requires_grad() const { return tape("Var::requires_grad").node(index_).requires_grad; }

    /// The Var's tape; throws TapeError naming `op` when the Var is empty or its tape generation
    /// has ended (the tape was cleared or destroyed). The tape is not touched before that check.
    Tape<T>& tape(const char* op = "Var") const {
        if (tape_ == nullptr) throw TapeError(cat(op, ": this Var is empty (default-constructed); it belongs to no tape"));
        if (!detail::TapeGenerations::is_live(epoch_))
            throw TapeError(cat(op, ": this Var's tape generation ", epoch_,
                                " has ended: its tape was cleared or destroyed since the Var was made; "
                                "record the forward pass again"));
        tape_->check_epoch(epoch_, op);
        return *tape_;
    }
    std::size_t index() const { return index_; }
    std::uint64_t epoch() const { return epoch_; }
    bool belongs_to(const Tape<T>& t) const { return tape_ == &t; }

private:
    friend class Tape<T>;
    Var(Tape<T>* tape, std::size_t index, std::uint64_t epoch) : tape_(tape), index_(index), epoch_(epoch) {}
    Tape<T>* tape_ = nullptr;
    std::size_t index_ = 0;
    std::uint64_t epoch_ = 0;
};

/// @fn const Tensor<T>& cringe::Var::value() const
/// The node's forward value.
/// @fn Shape cringe::Var::shape() const
/// The value's shape.
/// @fn std::size_t cringe::Var::rank() const
/// The value's number of axes.
/// @fn std::size_t cringe::Var::size() const
/// The value's number of elements.
/// @fn bool cringe::Var::requires_grad() const
/// Whether a backward pass computes this node's gradient.
/// @fn std::size_t cringe::Var::index() const
/// The node's position on its tape.
/// @fn std::uint64_t cringe::Var::epoch() const
/// The tape epoch the Var was made in.
/// @fn bool cringe::Var::belongs_to(const Tape<T>& t) const
/// Whether the Var's node is on tape `t`.

/// What kind of node: a constant, a variable or parameter leaf, or an operation.
enum class NodeKind { constant, variable, parameter, op };

/// One recorded operation (or leaf).
template <class T>
struct Node {
    /// Adds this node's adjoint contributions into its inputs' adjoints.
    using Backward = std::function<void(Tape<T>&, const Node<T>&)>;

    /// The operation's name ("matmul", "variable", ...).
    const char* op = "";            // "matmul", "variable", ...
    /// Constant, variable, parameter leaf or operation.
    NodeKind kind = NodeKind::op;
    /// The forward value (unused for parameters).
    Tensor<T> value;                // evaluated forward value (unused for parameters)
    /// Parameter leaves read value and grad from here.
    Parameter<T>* parameter = nullptr;  // parameter leaves read value/grad from here
    /// d output / d this node.
    Tensor<T> adjoint;              // d output / d this node
    /// The adjoint holds this backward's values (else it counts as zero).
    bool adjoint_live = false;      // adjoint holds this backward's values (else treat as zero)
    /// Some input path reaches a variable or parameter.
    bool requires_grad = false;
    /// The input nodes (for inspection and anomaly messages).
    std::vector<std::size_t> inputs;  // for inspection (DOT, trace) and anomaly messages
    /// The backward function.
    Backward backward;              // adds adjoint contributions into the inputs
    /// The line that created the node.
    Where where;                    // the line that created the node (anomaly messages)
    /// Value, adjoint and closure were freed by a backward with release_intermediates.
    bool released = false;

    /// The forward value (the parameter's for a parameter leaf).
    const Tensor<T>& val() const { return parameter ? parameter->value : value; }
};

/// How a backward closure stores a contribution into an adjoint that already holds this backward's
/// earlier contributions: it adds (see WRITE-FIRST ADJOINTS in tape.hpp). Works on one element, an
/// Eigen array expression, or a matrix product (product(): no temporary, detail/gemm.hpp's C += A B).
template <class T>
struct StoreAdd {
    /// Whether this store assigns (the first contribution).
    static constexpr bool assigns = false;
    /// dst += v, for one element or an Eigen array.
    template <class Dst, class V> void operator()(Dst&& dst, const V& v) const { dst += v; }
    /// dst += lhs rhs, a matrix product evaluated straight into dst.
    template <class Dst, class L, class R> void product(Dst&& dst, const L& lhs, const R& rhs) const { detail::gemm(dst, lhs, rhs, true); }
    /// A part of the adjoint this op contributes nothing to: left as it is.
    template <class Dst> void untouched(Dst&&) const {}
};

/// How a backward closure stores the FIRST contribution of this backward into an adjoint, whose
/// buffer still holds stale values: it assigns (see WRITE-FIRST ADJOINTS in tape.hpp).
template <class T>
struct StoreAssign {
    /// Whether this store assigns (the first contribution).
    static constexpr bool assigns = true;
    /// dst = v, for one element or an Eigen array.
    template <class Dst, class V> void operator()(Dst&& dst, const V& v) const { dst = v; }
    /// dst = lhs rhs, a matrix product evaluated straight into dst (the stale values are never read:
    /// OpenBLAS runs with beta = 0, Eigen zeroes dst first).
    template <class Dst, class L, class R> void product(Dst&& dst, const L& lhs, const R& rhs) const { detail::gemm(dst, lhs, rhs, false); }
    /// A part of the adjoint this op contributes nothing to: zeroed, as no one wrote it yet.
    template <class Dst> void untouched(Dst&& dst) const {
        if constexpr (requires { dst.setZero(); }) dst.setZero();
        else dst = T(0);
    }
};

/// Options of Tape::backward.
struct BackwardOptions {
    /// Keep the graph for another backward.
    bool retain_graph = false;  // allow another backward on the same graph
    /// Free each intermediate (op) node's value, adjoint and backward closure as soon as the reverse
    /// pass is past it, as PyTorch frees a graph's saved tensors: the pass then needs about one copy
    /// of the activations instead of two (values and adjoints), and the freed buffers go back to the
    /// buffer cache for the adjoints still to come. Afterwards only leaves, parameters and the
    /// output's value may be read (reading a released node throws TapeError). Ignored with
    /// retain_graph. The training loop (train::train) sets it.
    bool release_intermediates = false;
};

/// A tape of recorded operations for reverse-mode differentiation; see the file comment.
template <class T>
class Tape {
public:
    Tape() = default;
    ~Tape() { detail::TapeGenerations::retire(epoch_); }
    Tape(const Tape&) = delete;  // Vars point at their tape: it must not move or be copied
    Tape& operator=(const Tape&) = delete;

    // ---- leaves -----------------------------------------------------------------------------
    /// A trainable leaf; its grad accumulates across backward calls until zero_grad().
    Var<T> variable(Tensor<T> value, Where where = Where::current()) {
        return leaf(NodeKind::variable, std::move(value), nullptr, where);
    }
    /// A leaf that never receives a gradient.
    Var<T> constant(Tensor<T> value, Where where = Where::current()) {
        return leaf(NodeKind::constant, std::move(value), nullptr, where);
    }
    /// A leaf that reads p.value and accumulates into p.grad (no copy of the weights).
    Var<T> parameter(Parameter<T>& p, Where where = Where::current()) {
        if (p.grad.shape() != p.value.shape()) p.zero_grad();
        return leaf(NodeKind::parameter, Tensor<T>{}, &p, where);
    }

    // ---- recording ops ------------------------------------------------------------------------
    /// Appends an op node. `backward` is dropped when no input needs a gradient or grad is disabled.
    Var<T> record(const char* op, Tensor<T> value, std::initializer_list<Var<T>> inputs,
                  typename Node<T>::Backward backward, Where where) {
        return record(op, std::move(value), std::vector<Var<T>>(inputs), std::move(backward), where);
    }
    /// Appends a node computed from `inputs`, with its backward; used by every op.
    Var<T> record(const char* op, Tensor<T> value, const std::vector<Var<T>>& inputs,
                  typename Node<T>::Backward backward, Where where) {
        Node<T> node;
        node.op = op;
        node.kind = NodeKind::op;
        node.where = where;
        bool needs = false;
        node.inputs.reserve(inputs.size());
        for (const Var<T>& in : inputs) {
            check_owned(in, op);
            node.inputs.push_back(in.index());
            needs = needs || nodes_[in.index()].requires_grad;
        }
        node.requires_grad = needs && grad_enabled_;
        if (node.requires_grad) node.backward = std::move(backward);
        node.value = std::move(value);
        if (anomaly_mode_) check_forward(node);
        nodes_.push_back(std::move(node));
        return Var<T>(this, nodes_.size() - 1, epoch_);
    }

    // ---- backward -----------------------------------------------------------------------------
    /// Reverse pass from a one-element output (seeded with 1).
    void backward(const Var<T>& output, BackwardOptions options = {}) {
        check_owned(output, "backward");
        const Node<T>& out = nodes_[output.index()];
        if (out.val().size() != 1)
            throw TapeError(cat("backward: output has shape ", shape_str(out.val().shape()),
                                "; a cotangent is required for an output with more than one element "
                                "(call backward(output, cotangent) with a tensor of that shape)"));
        backward(output, full<T>(to_shape(out.val().shape()), T(1)), options);
    }

    /// Reverse pass seeded with `cotangent` (same shape as the output): computes J^T cotangent.
    void backward(const Var<T>& output, const Tensor<T>& cotangent, BackwardOptions options = {}) {
        check_owned(output, "backward");
        const std::size_t top = output.index();
        if (consumed_ && top <= consumed_top_)
            throw TapeError("backward: this tape's graph was already used by a backward call without "
                            "retain_graph; pass BackwardOptions{.retain_graph = true} to the first call, "
                            "or clear the tape and record the forward pass again");
        const Node<T>& out = nodes_[top];
        if (to_shape(cotangent.shape()) != to_shape(out.val().shape()))
            throw ShapeError(cat("backward: cotangent has shape ", shape_str(cotangent.shape()),
                                 " but the output has shape ", shape_str(out.val().shape()),
                                 "; expected equal shapes"));
        for (auto& node : nodes_)  // every node, so grad() of nodes after `output` reads 0, not stale values
            if (node.kind == NodeKind::op) node.adjoint_live = false;
        if (!out.requires_grad) {
            if (!options.retain_graph) consume(top);
            return;  // nothing upstream needs a gradient
        }
        add_to_adjoint(top, cotangent);
        const bool release = options.release_intermediates && !options.retain_graph;
        for (std::size_t i = top + 1; i-- > 0;) {
            Node<T>& node = nodes_[i];
            if (node.kind != NodeKind::op) continue;
            if (node.requires_grad && node.adjoint_live) {
                node.backward(*this, node);
                if (anomaly_mode_) check_backward(node);
            }
            // Every node that reads node i's value (its consumers, all later) has run its backward,
            // and so has node i: nothing reads it again in this pass.
            if (release && i != top) release_node(node);
        }
        if (!options.retain_graph) consume(top);
    }

    // ---- adjoint access for backward closures -----------------------------------------------------
    /// The adjoint of node i, allocated and zeroed on first use in this backward. For parameter
    /// leaves this is Parameter::grad itself, so contributions accumulate there.
    Tensor<T>& adjoint(std::size_t i) {
        Node<T>& node = nodes_[i];
        if (node.kind == NodeKind::parameter) return node.parameter->grad;
        const auto& shape = node.val().shape();
        if (node.kind == NodeKind::variable) {
            if (node.adjoint.shape() != shape) {
                node.adjoint.resize(shape);
                node.adjoint.fill(T(0));
            }
            return node.adjoint;
        }
        if (!node.adjoint_live) {
            if (node.adjoint.shape() != shape) node.adjoint.resize(shape);
            node.adjoint.fill(T(0));
            node.adjoint_live = true;
        }
        return node.adjoint;
    }
    /// True when backward should bother computing a contribution for input node i.
    bool wants_grad(std::size_t i) const { return nodes_[i].requires_grad; }
    /// adjoint(i) += g (same shape), skipping nodes that need no gradient.
    void add_to_adjoint(std::size_t i, const Tensor<T>& g) { accumulate(i, flat(g)); }

    /// Adds one contribution into the adjoint of node i, write-first (see WRITE-FIRST ADJOINTS):
    /// `write(grad, store)` gets the adjoint tensor and the store to write it with, StoreAssign
    /// for the first contribution to an intermediate node in this backward (`grad` holds stale
    /// values: every element must be written, through store or store.untouched), StoreAdd
    /// otherwise. Does nothing for a node that needs no gradient.
    template <class Write>
        requires(!detail::EigenArray<Write>)
    void accumulate(std::size_t i, Write&& write) {
        static_assert(std::is_invocable_v<Write&, Tensor<T>&, StoreAdd<T>>,
                      "Tape::accumulate: pass a function (Tensor<T>& grad, auto store) or an Eigen array expression");
        if (!wants_grad(i)) return;
        Node<T>& node = nodes_[i];
        if (node.kind == NodeKind::op && !node.adjoint_live) {
            if (node.adjoint.shape() != node.val().shape()) node.adjoint.resize(node.val().shape());
            write(node.adjoint, StoreAssign<T>{});
            node.adjoint_live = true;
        } else {
            write(adjoint(i), StoreAdd<T>{});
        }
    }
    /// adjoint(i) += contribution, write-first; `contribution` is a flat Eigen array expression
    /// (or array) with the adjoint's element count, e.g. flat(grad) * scale.
    template <detail::EigenArray Contribution>
    void accumulate(std::size_t i, const Contribution& contribution) {
        accumulate(i, [&](Tensor<T>& grad, auto store) { store(flat(grad), contribution); });
    }

    // ---- inspection ---------------------------------------------------------------------------
    /// The forward value of node i.
    const Tensor<T>& value(std::size_t i) const {
        check_not_released(i, "value");
        return nodes_[i].val();
    }
    /// The gradient of the last backward with respect to node i.
    const Tensor<T>& grad(std::size_t i) {
        check_not_released(i, "grad");
        Node<T>& node = nodes_[i];
        if (node.kind == NodeKind::parameter) return node.parameter->grad;
        if (node.kind == NodeKind::variable) return adjoint(i);
        if (!node.adjoint_live) {
            node.adjoint.resize(node.val().shape());
            node.adjoint.fill(T(0));
        }
        return node.adjoint;
    }
    /// Node i.
    const Node<T>& node(std::size_t i) const { return nodes_.at(i); }
    /// The number of nodes.
    std::size_t size() const { return nodes_.size(); }
    /// The node vector's capacity (kept by clear()).
    std::size_t capacity() const { return nodes_.capacity(); }

    /// Zeroes the accumulated gradients of variable() leaves (Parameters zero themselves).
    void zero_grad() {
        for (auto& node : nodes_)
            if (node.kind == NodeKind::variable) node.adjoint.fill(T(0));
    }

    /// Drops every node (keeping capacity) and invalidates all Vars made so far.
    void clear() {
        nodes_.clear();
        detail::TapeGenerations::retire(epoch_);
        epoch_ = detail::TapeGenerations::open();
        consumed_ = false;
        consumed_top_ = 0;
    }

    // ---- modes --------------------------------------------------------------------------------
    /// Whether operations are recorded with gradients.
    bool grad_enabled() const { return grad_enabled_; }
    /// Whether every op checks its result for NaN and infinity.
    bool anomaly_mode() const { return anomaly_mode_; }
    /// Turns anomaly mode on or off.
    void set_anomaly_mode(bool on) { anomaly_mode_ = on; }

    /// RAII: ops recorded while it lives get no backward (inference, evaluation).
    class NoGradGuard {
    public:
        /// Disables gradient recording on `t` until destroyed.
        explicit NoGradGuard(Tape& t) : tape_(t), saved_(t.grad_enabled_) { t.grad_enabled_ = false; }
        ~NoGradGuard() { tape_.grad_enabled_ = saved_; }
        NoGradGuard(const NoGradGuard&) = delete;
        NoGradGuard& operator=(const NoGradGuard&) = delete;
    private:
        Tape& tape_;
        bool saved_;
    };
    /// A guard that disables gradient recording in its scope.
    NoGradGuard no_grad() { return NoGradGuard(*this); }

    /// RAII: turns anomaly mode on (or off) for a scope.
    class AnomalyGuard {
    public:
        /// Sets anomaly mode on `t` until destroyed.
        AnomalyGuard(Tape& t, bool on = true) : tape_(t), saved_(t.anomaly_mode_) { t.anomaly_mode_ = on; }
        ~AnomalyGuard() { tape_.anomaly_mode_ = saved_; }
        AnomalyGuard(const AnomalyGuard&) = delete;
        AnomalyGuard& operator=(const AnomalyGuard&) = delete;
    private:
        Tape& tape_;
        bool saved_;
    };
    /// A guard that sets anomaly mode in its scope.
    AnomalyGuard detect_anomaly(bool on = true) { return AnomalyGuard(*this, on); }

    /// TapeError naming `op` if a Var's epoch is not the tape's current one.
    void check_epoch(std::uint64_t epoch, const char* op) const {
        if (epoch != epoch_)
            throw TapeError(cat(op, ": this Var was made in tape generation ", epoch,
                                ", which has ended (the tape is at generation ", epoch_,
                                "): its tape was cleared or destroyed since; record the forward pass again"));
    }
    /// TapeError naming `op` if `v` belongs to another tape.
    void check_owned(const Var<T>& v, const char* op) const {
        if (!v.belongs_to(*this))
            throw TapeError(cat(op, ": an input Var belongs to another tape (or to none); "
                                "all inputs of an op must come from the same tape"));
        check_epoch(v.epoch(), op);
    }

private:
    Var<T> leaf(NodeKind kind, Tensor<T> value, Parameter<T>* p, Where where) {
        Node<T> node;
        node.op = kind == NodeKind::constant ? "constant" : kind == NodeKind::variable ? "variable" : "parameter";
        node.kind = kind;
        node.value = std::move(value);
        node.parameter = p;
        node.requires_grad = kind != NodeKind::constant;
        node.where = where;
        if (anomaly_mode_) check_forward(node);
        nodes_.push_back(std::move(node));
        return Var<T>(this, nodes_.size() - 1, epoch_);
    }

    /// The op's name; a parameter leaf also names its Parameter ("parameter 'transformer.wte.weight'").
    static std::string label(const Node<T>& node) {
        if (node.parameter) return cat(node.op, " '", node.parameter->name, "'");
        return node.op;
    }
    std::string describe(const Node<T>& node) const {
        std::string inputs;
        for (std::size_t k = 0; k < node.inputs.size(); ++k)
            inputs += (k ? ", " : "") + shape_str(nodes_[node.inputs[k]].val().shape());
        return cat(label(node), " (inputs ", inputs.empty() ? std::string("none") : inputs, "; output ",
                   shape_str(node.val().shape()), ") created at ", node.where.file_name(), ":",
                   node.where.line());
    }
    static std::ptrdiff_t first_non_finite(const Tensor<T>& t) {
        for (std::size_t k = 0; k < t.size(); ++k)
            if (!is_finite(t.data()[k])) return static_cast<std::ptrdiff_t>(k);
        return -1;
    }
    void check_forward(const Node<T>& node) const {
        const auto bad = first_non_finite(node.val());
        if (bad >= 0)
            throw NumericalError(cat("anomaly: forward value of ", describe(node),
                                     " is not finite at element ", bad, " (value ",
                                     value_of(node.val().data()[bad]), ")"));
    }
    void check_backward(const Node<T>& node) {
        for (std::size_t in : node.inputs) {
            if (!wants_grad(in)) continue;
            const auto bad = first_non_finite(adjoint(in));
            if (bad >= 0)
                throw NumericalError(cat("anomaly: backward of ", describe(node),
                                         " produced a non-finite gradient at element ", bad,
                                         " of its input ", label(nodes_[in]), " ",
                                         shape_str(nodes_[in].val().shape())));
        }
    }

    // A backward without retain_graph "consumes" the graph of its output: another backward from that
    // output, or from any node recorded before it, is refused (PyTorch frees such graphs). Nodes
    // recorded afterwards start new graphs and may be differentiated.
    /// TapeError when node i was freed by a backward with release_intermediates (or is out of range).
    void check_not_released(std::size_t i, const char* what) const {
        const Node<T>& node = nodes_.at(i);
        if (node.released)
            throw TapeError(cat(what, ": node ", i, " ('", node.op, "') was released by a backward with "
                                "release_intermediates; read it before that backward, or leave release_intermediates off"));
    }

    /// Frees an op node's value, adjoint and backward closure (what it captured), keeping its shape-less
    /// husk so indices stay valid; the buffers return to the buffer cache.
    static void release_node(Node<T>& node) {
        node.value = Tensor<T>::from_shape({0});
        node.adjoint = Tensor<T>::from_shape({0});
        node.backward = nullptr;
        node.adjoint_live = false;
        node.released = true;
    }

    void consume(std::size_t top) {
        consumed_ = true;
        consumed_top_ = std::max(consumed_top_, top);
    }

    std::vector<Node<T>> nodes_;
    std::size_t consumed_top_ = 0;
    std::uint64_t epoch_ = detail::TapeGenerations::open();  // this tape's current generation
    bool grad_enabled_ = true;
    bool anomaly_mode_ = CRINGE_ANOMALY_MODE_DEFAULT;
    bool consumed_ = false;
};

}  // namespace cringe
