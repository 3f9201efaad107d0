// bench/bench_ops.cpp - single ops through the tape (forward + backward) against the raw kernels.
//
//   matmul/tape/<dtype>/<n>     Tape<T>, two variable() leaves A, B [n,n], C = matmul(A, B),
//                               backward(C, G) with a fixed random cotangent G; tape.clear() each time
//   matmul/param/<dtype>/<n>    the same with Parameter leaves (no copy of A and B into the tape),
//                               zero_grad each iteration as a training loop would
//   matmul/eigen/<dtype>/<n>    the three GEMMs the tape performs, C = A B, dA = G B^T, dB = A^T G,
//                               over preallocated buffers, by Eigen's own GEMM (the floor of the tape
//                               when detail/gemm.hpp chooses Eigen)
//   matmul/openblas/<dtype>/<n> the same three by OpenBLAS (registered only in a program that has it;
//                               the floor when detail/gemm.hpp chooses OpenBLAS)
//   elementwise/...             tanh(x*y + x), 1e5 elements, fwd+bwd; tape vs a hand-fused Eigen loop
//   add/..., mul/...            x [1024,512] with y [1024,512] (same shape), [512] (a bias, the suffix
//                               path) or [1024,1] (a column, the general strided path), fwd+bwd
//   masked_fill                 a causal [T,T] mask over scores [B,H,T,T] = [16,4,64,64], fwd+bwd
//   softmax, layer_norm, gelu, permute: the model's other ops at the sizes the model uses them
//   kernel/bias_gelu[_reference]/<rows>x<N>   kernels::bias_gelu(p, b) against gelu(add(p, b)), fwd+bwd
//   kernel/residual_layer_norm[_reference]/<rows>x<C>
//                               kernels::residual_layer_norm(x, d, w, b) against layer_norm(add(x, d), w, b)
// GFLOP/s counters count 2 n^3 per GEMM (3 GEMMs per fwd+bwd).
#include <cmath>
#include <string>

#include "bench_common.hpp"
#include "cringe/kernels/bias_gelu.hpp"
#include "cringe/kernels/residual_layer_norm.hpp"
#include "cringe/ops/ops.hpp"
#include "cringe/tape.hpp"

namespace {

using namespace cringe;
using cringe::bench::dtype_name;
using cringe::bench::random_tensor;
using cringe::bench::rate;

double gemm_gflop(long n) { return 3.0 * 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / 1e9; }

template <class T>
void matmul_tape(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    Rng rng(1);
    const Tensor<T> A = random_tensor<T>({n, n}, rng), B = random_tensor<T>({n, n}, rng), G = random_tensor<T>({n, n}, rng);
    Tape<T> tape;
    for (auto _ : state) {
        tape.clear();
        Var<T> a = tape.variable(A), b = tape.variable(B);
        Var<T> c = matmul(a, b);
        tape.backward(c, G);
        benchmark::DoNotOptimize(tape.grad(a.index()).data());
        benchmark::DoNotOptimize(tape.grad(b.index()).data());
    }
    state.counters["GFLOP/s"] = rate(gemm_gflop(state.range(0)));
}

template <class T>
void matmul_param(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    Rng rng(1);
    Parameter<T> pa("a", random_tensor<T>({n, n}, rng)), pb("b", random_tensor<T>({n, n}, rng));
    const Tensor<T> G = random_tensor<T>({n, n}, rng);
    Tape<T> tape;
    for (auto _ : state) {
        tape.clear();
        pa.zero_grad();
        pb.zero_grad();
        Var<T> c = matmul(tape.parameter(pa), tape.parameter(pb));
        tape.backward(c, G);
        benchmark::DoNotOptimize(pa.grad.data());
        benchmark::DoNotOptimize(pb.grad.data());
    }
    state.counters["GFLOP/s"] = rate(gemm_gflop(state.range(0)));
}

template <class T, detail::ProductKernel kKernel>
void matmul_raw(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto m = static_cast<Eigen::Index>(n);
    Rng rng(1);
    const Tensor<T> A = random_tensor<T>({n, n}, rng), B = random_tensor<T>({n, n}, rng), G = random_tensor<T>({n, n}, rng);
    Tensor<T> C = Tensor<T>::from_shape({n, n}), dA = Tensor<T>::from_shape({n, n}), dB = Tensor<T>::from_shape({n, n});
    ConstMatrixMap<T> a(A.data(), m, m), b(B.data(), m, m), g(G.data(), m, m);
    MatrixMap<T> c(C.data(), m, m), da(dA.data(), m, m), db(dB.data(), m, m);
    for (auto _ : state) {
        detail::gemm_with(kKernel, c, a, b, false);
        detail::gemm_with(kKernel, da, g, b.transpose(), false);
        detail::gemm_with(kKernel, db, a.transpose(), g, false);
        benchmark::DoNotOptimize(C.data());
        benchmark::DoNotOptimize(dA.data());
        benchmark::DoNotOptimize(dB.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] = rate(gemm_gflop(state.range(0)));
}

constexpr std::size_t kElementwise = 100000;

template <class T>
void elementwise_tape(benchmark::State& state) {
    Rng rng(2);
    const Tensor<T> X = random_tensor<T>({kElementwise}, rng), Y = random_tensor<T>({kElementwise}, rng);
    const Tensor<T> ones = full<T>({kElementwise}, T(1));
    Tape<T> tape;
    for (auto _ : state) {
        tape.clear();
        Var<T> x = tape.variable(X), y = tape.variable(Y);
        Var<T> z = tanh(x * y + x);
        tape.backward(z, ones);
        benchmark::DoNotOptimize(tape.grad(x.index()).data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kElementwise));
}

template <class T>
void elementwise_eigen(benchmark::State& state) {
    Rng rng(2);
    const Tensor<T> X = random_tensor<T>({kElementwise}, rng), Y = random_tensor<T>({kElementwise}, rng);
    Tensor<T> Z(X.shape()), dX(X.shape()), dY(X.shape());
    for (auto _ : state) {
        // z = tanh(x*y + x); with g = 1: dz/du = 1 - z^2, dx = (1 - z^2)(y + 1), dy = (1 - z^2) x
        flat(Z) = (flat(X) * flat(Y) + flat(X)).tanh();
        flat(dX) = (T(1) - flat(Z).square()) * (flat(Y) + T(1));
        flat(dY) = (T(1) - flat(Z).square()) * flat(X);
        benchmark::DoNotOptimize(dX.data());
        benchmark::DoNotOptimize(dY.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kElementwise));
}

/// How the second operand of a broadcast benchmark lines up with x [rows, cols].
enum class Other { same_shape, bias, column };

/// x [rows, cols] op other, other [rows, cols] (same shape), [cols] (a bias: the suffix path) or
/// [rows, 1] (a column: the general strided path); forward and backward.
template <class T, Other kOther, bool kMul>
void binary_tape(benchmark::State& state) {
    const std::size_t rows = 1024, cols = 512;
    Rng rng(3);
    const Tensor<T> X = random_tensor<T>({rows, cols}, rng);
    const Shape other_shape = kOther == Other::same_shape ? Shape{rows, cols} : kOther == Other::bias ? Shape{cols} : Shape{rows, 1};
    const Tensor<T> Y = random_tensor<T>(other_shape, rng);
    const Tensor<T> G = random_tensor<T>({rows, cols}, rng);
    Tape<T> tape;
    for (auto _ : state) {
        tape.clear();
        Var<T> x = tape.variable(X), y = tape.variable(Y);
        Var<T> z = kMul ? mul(x, y) : add(x, y);
        tape.backward(z, G);
        benchmark::DoNotOptimize(tape.grad(y.index()).data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(rows * cols));
}

/// The causal mask of the small config's attention: a [T,T] mask over scores [B,H,T,T] = [16,4,64,64].
template <class T>
void masked_fill_tape(benchmark::State& state) {
    const std::size_t B = 16, H = 4, Tn = 64;
    Rng rng(8);
    const Tensor<T> X = random_tensor<T>({B, H, Tn, Tn}, rng), G = random_tensor<T>({B, H, Tn, Tn}, rng);
    Mask causal = Mask::from_shape({Tn, Tn});
    for (std::size_t i = 0; i < Tn; ++i)
        for (std::size_t j = 0; j < Tn; ++j) causal(i, j) = j > i;
    Tape<T> tape;
    for (auto _ : state) {
        tape.clear();
        Var<T> x = tape.variable(X);
        Var<T> y = masked_fill(x, causal, T(-1e9));
        tape.backward(y, G);
        benchmark::DoNotOptimize(tape.grad(x.index()).data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(B * H * Tn * Tn));
}

template <class T>
void softmax_tape(benchmark::State& state) {
    const std::size_t rows = 64, cols = 512;
    Rng rng(4);
    const Tensor<T> X = random_tensor<T>({rows, cols}, rng), G = random_tensor<T>({rows, cols}, rng);
    Tape<T> tape;
    for (auto _ : state) {
        tape.clear();
        Var<T> x = tape.variable(X);
        Var<T> y = softmax(x, -1);
        tape.backward(y, G);
        benchmark::DoNotOptimize(tape.grad(x.index()).data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(rows * cols));
}

template <class T>
void layer_norm_tape(benchmark::State& state) {
    const std::size_t rows = 1024, cols = 256;
    Rng rng(5);
    const Tensor<T> X = random_tensor<T>({rows, cols}, rng), G = random_tensor<T>({rows, cols}, rng);
    const Tensor<T> W = random_tensor<T>({cols}, rng), Bias = random_tensor<T>({cols}, rng);
    Tape<T> tape;
    for (auto _ : state) {
        tape.clear();
        Var<T> x = tape.variable(X), w = tape.variable(W), b = tape.variable(Bias);
        Var<T> y = layer_norm(x, w, b);
        tape.backward(y, G);
        benchmark::DoNotOptimize(tape.grad(x.index()).data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(rows * cols));
}

/// GELU on the small config's MLP activation [B*T, 4C] = [1024, 512].
template <class T>
void gelu_tape(benchmark::State& state) {
    const std::size_t rows = 1024, cols = 512;
    Rng rng(6);
    const Tensor<T> X = random_tensor<T>({rows, cols}, rng), G = random_tensor<T>({rows, cols}, rng);
    Tape<T> tape;
    for (auto _ : state) {
        tape.clear();
        Var<T> x = tape.variable(X);
        Var<T> y = gelu(x);
        tape.backward(y, G);
        benchmark::DoNotOptimize(tape.grad(x.index()).data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(rows * cols));
}

/// The attention head split of the small config: [B,T,H,D] = [16,64,4,32] -> [B,H,T,D], fwd+bwd.
template <class T>
void permute_tape(benchmark::State& state) {
    const Shape shape{16, 64, 4, 32};
    Rng rng(7);
    const Tensor<T> X = random_tensor<T>(shape, rng), G = random_tensor<T>({16, 4, 64, 32}, rng);
    Tape<T> tape;
    for (auto _ : state) {
        tape.clear();
        Var<T> x = tape.variable(X);
        Var<T> y = permute(x, {0, 2, 1, 3});
        tape.backward(y, G);
        benchmark::DoNotOptimize(tape.grad(x.index()).data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(numel(shape)));
}

/// The MLP's bias + GELU on a [rows, N] product (the small config: 1024 x 512), fused or composed.
template <class T, bool kFused>
void bias_gelu_tape(benchmark::State& state) {
    const auto rows = static_cast<std::size_t>(state.range(0)), N = static_cast<std::size_t>(state.range(1));
    Rng rng(11);
    const Tensor<T> P = random_tensor<T>({rows, N}, rng), bias = random_tensor<T>({N}, rng), G = random_tensor<T>({rows, N}, rng);
    Tape<T> tape;
    for (auto _ : state) {
        tape.clear();
        Var<T> p = tape.variable(P), b = tape.variable(bias);
        Var<T> h = kFused ? kernels::bias_gelu(p, b) : gelu(add(p, b));
        tape.backward(h, G);
        benchmark::DoNotOptimize(tape.grad(b.index()).data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(rows * N));
}

/// A residual addition and the layer norm that reads it on [rows, C] (the small config: 1024 x 128).
template <class T, bool kFused>
void residual_layer_norm_tape(benchmark::State& state) {
    const auto rows = static_cast<std::size_t>(state.range(0)), C = static_cast<std::size_t>(state.range(1));
    Rng rng(12);
    const Tensor<T> X = random_tensor<T>({rows, C}, rng), D = random_tensor<T>({rows, C}, rng), G = random_tensor<T>({rows, C}, rng);
    const Tensor<T> W = random_tensor<T>({C}, rng), B = random_tensor<T>({C}, rng);
    Tape<T> tape;
    for (auto _ : state) {
        tape.clear();
        Var<T> x = tape.variable(X), d = tape.variable(D), w = tape.variable(W), b = tape.variable(B);
        Var<T> y = kFused ? kernels::residual_layer_norm(x, d, w, b).normed : layer_norm(add(x, d), w, b);
        tape.backward(y, G);
        benchmark::DoNotOptimize(tape.grad(x.index()).data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(rows * C));
}

template <class T>
void register_all() {
    const std::string dt = dtype_name<T>();
    for (long n : {64L, 128L, 256L, 512L}) {  // the name gets "/<n>" from Arg
        const std::string suffix = "/" + dt;
        benchmark::RegisterBenchmark(("matmul/eigen" + suffix).c_str(), matmul_raw<T, detail::ProductKernel::eigen>)->Arg(n)->Unit(benchmark::kMicrosecond);
        if (!detail::openblas_core_name().empty())
            benchmark::RegisterBenchmark(("matmul/openblas" + suffix).c_str(), matmul_raw<T, detail::ProductKernel::openblas>)
                ->Arg(n)
                ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("matmul/tape" + suffix).c_str(), matmul_tape<T>)->Arg(n)->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("matmul/param" + suffix).c_str(), matmul_param<T>)->Arg(n)->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark(("elementwise/eigen/" + dt).c_str(), elementwise_eigen<T>)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("elementwise/tape/" + dt).c_str(), elementwise_tape<T>)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("add/same_shape/" + dt).c_str(), binary_tape<T, Other::same_shape, false>)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("add/bias_broadcast/" + dt).c_str(), binary_tape<T, Other::bias, false>)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("add/column_broadcast/" + dt).c_str(), binary_tape<T, Other::column, false>)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("mul/same_shape/" + dt).c_str(), binary_tape<T, Other::same_shape, true>)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("mul/bias_broadcast/" + dt).c_str(), binary_tape<T, Other::bias, true>)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("mul/column_broadcast/" + dt).c_str(), binary_tape<T, Other::column, true>)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("masked_fill/16x4x64x64/" + dt).c_str(), masked_fill_tape<T>)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("softmax/64x512/" + dt).c_str(), softmax_tape<T>)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("layer_norm/1024x256/" + dt).c_str(), layer_norm_tape<T>)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("gelu/1024x512/" + dt).c_str(), gelu_tape<T>)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("permute/16x64x4x32/" + dt).c_str(), permute_tape<T>)->Unit(benchmark::kMicrosecond);
    for (const auto& [rows, n] : {std::pair{512L, 256L}, std::pair{1024L, 512L}}) {  // tiny's and small's [B*T, 4C]
        std::string size = std::to_string(rows);  // appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "/" + to_string
        size += 'x';
        size += std::to_string(n);
        size += '/';
        size += dt;
        benchmark::RegisterBenchmark(("kernel/bias_gelu/" + size).c_str(), bias_gelu_tape<T, true>)->Args({rows, n})->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("kernel/bias_gelu_reference/" + size).c_str(), bias_gelu_tape<T, false>)->Args({rows, n})->Unit(benchmark::kMicrosecond);
    }
    for (const auto& [rows, c] : {std::pair{512L, 64L}, std::pair{1024L, 128L}}) {  // tiny's and small's [B*T, C]
        std::string size = std::to_string(rows);
        size += 'x';
        size += std::to_string(c);
        size += '/';
        size += dt;
        benchmark::RegisterBenchmark(("kernel/residual_layer_norm/" + size).c_str(), residual_layer_norm_tape<T, true>)->Args({rows, c})->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("kernel/residual_layer_norm_reference/" + size).c_str(), residual_layer_norm_tape<T, false>)->Args({rows, c})->Unit(benchmark::kMicrosecond);
    }
}

}  // namespace

int main(int argc, char** argv) {
    return cringe::bench::run_benchmarks(argc, argv, register_all<float>, register_all<double>);
}
