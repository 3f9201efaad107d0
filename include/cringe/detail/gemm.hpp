// cringe/detail/gemm.hpp - the one door every general matrix product of cringe goes through (the key/
// value cache's tiny per-head products stay Eigen's lazyProduct loops): C = A B or C += A B, computed
// by Eigen's own GEMM or by OpenBLAS, chosen once per process.
//
// Why a choice at run time. Eigen's GEMM is compiled with the program, so with -march=native on an
// AVX-512 CPU it runs AVX-512 code. OpenBLAS picks its kernels when it loads, from the CPU or from the
// environment variable OPENBLAS_CORETYPE, and a machine may hold it to older ones: the development
// machine of docs/performance.md sets OPENBLAS_CORETYPE=Haswell (AVX2) on an AVX-512 CPU, because some
// OpenBLAS builds compute wrong results or crash on it. There Eigen's GEMM was 1.23-1.45x faster than
// OpenBLAS's at every shape measured; where OpenBLAS runs AVX-512 kernels it is the faster one, and
// only it splits a large product over several threads (OPENBLAS_NUM_THREADS). Neither build setting
// is right everywhere, so the program looks at what it has when it starts:
//
//   CRINGE_MATRIX_PRODUCTS=eigen | openblas   that one (openblas: only if the program has OpenBLAS)
//   unset or auto                              OpenBLAS if the program has it and either its kernels
//                                              are AVX-512 ones or this build has no AVX-512 (then
//                                              OpenBLAS's kernels are at least as good); else Eigen's
//
// Bits: the two compute the same sums in different orders (their blockings differ), so results differ
// in the last bits between them, as they do between OpenBLAS's kernels. The choice never depends on the
// thread count, and neither does a product: OpenBLAS splits rows and columns over its threads, never a
// sum, and Eigen's GEMM runs on the calling thread (unless a program builds with -fopenmp, which cringe's
// builds do not). A run records the choice (describe_matrix_products(): cringe-repro's summary.json, the
// benchmarks' context). A program that defines EIGEN_USE_BLAS itself makes Eigen's own products BLAS
// calls, so `eigen` then means that BLAS.
//
// OpenBLAS is found with dlsym in the running program, never required: the headers link against
// nothing, and a program without OpenBLAS (a user's, or the sanitizer build of tools/test.sh) uses
// Eigen's GEMM.
#pragma once

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

#if __has_include(<dlfcn.h>)
#include <dlfcn.h>
#define CRINGE_HAS_DLSYM 1
#endif

#include "../error.hpp"
#include "eigen.hpp"

namespace cringe::detail {

/// Who computes the matrix products.
enum class ProductKernel {
    eigen,     ///< Eigen's own GEMM, compiled with the program
    openblas,  ///< OpenBLAS's sgemm_ / dgemm_
};

/// The choice and why it was made, in words (for the records of a run).
struct ProductChoice {
    ProductKernel kernel = ProductKernel::eigen;
    std::string why;
};

/// Whether an OpenBLAS core name (openblas_get_corename) is one of its AVX-512 kernel sets. A
/// DYNAMIC_ARCH build says "SkylakeX", a build for one CPU "SKYLAKEX": the case does not matter.
inline bool is_avx512_openblas_core(std::string_view core) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    auto same = [&](std::string_view name) {
        return core.size() == name.size() && std::equal(core.begin(), core.end(), name.begin(), [&](char a, char b) { return lower(a) == b; });
    };
    return same("skylakex") || same("cooperlake") || same("sapphirerapids");
}

/// The rule of the file comment as a pure function (tested case by case): `requested` is the value of
/// CRINGE_MATRIX_PRODUCTS (null when unset), `openblas_core` OpenBLAS's core name (empty without
/// OpenBLAS), `build_has_avx512` whether this build's Eigen code uses AVX-512. ValueError for a
/// request it does not know, or for `openblas` in a program without OpenBLAS.
inline ProductChoice choose_product_kernel(const char* requested, std::string_view openblas_core, bool build_has_avx512) {
    const std::string_view request = requested ? requested : "auto";
    const bool have_openblas = !openblas_core.empty();
    const std::string core = "OpenBLAS core " + std::string(openblas_core);
    if (request == "eigen") return {ProductKernel::eigen, "Eigen's own GEMM (CRINGE_MATRIX_PRODUCTS=eigen)"};
    if (request == "openblas") {
        if (!have_openblas)
            throw ValueError("CRINGE_MATRIX_PRODUCTS is \"openblas\", but this program has no OpenBLAS (it is not linked or not loaded); "
                             "expected eigen or auto, or a program linked with OpenBLAS");
        return {ProductKernel::openblas, core + " (CRINGE_MATRIX_PRODUCTS=openblas)"};
    }
    if (request != "auto")
        throw ValueError(cat("CRINGE_MATRIX_PRODUCTS is \"", request, "\"; expected auto, eigen or openblas"));
    if (!have_openblas) return {ProductKernel::eigen, "Eigen's own GEMM (no OpenBLAS in this program)"};
    if (is_avx512_openblas_core(openblas_core)) return {ProductKernel::openblas, core + " (AVX-512 kernels)"};
    if (!build_has_avx512) return {ProductKernel::openblas, core + " (this build has no AVX-512)"};
    return {ProductKernel::eigen, "Eigen's own GEMM, AVX-512 (" + core + " runs narrower kernels)"};
}

/// OpenBLAS's Fortran-style GEMM: column-major C = alpha op(A) op(B) + beta C.
template <class T>
using BlasGemm = void (*)(const char* trans_a, const char* trans_b, const int* m, const int* n, const int* k, const T* alpha, const T* a,
                          const int* lda, const T* b, const int* ldb, const T* beta, T* c, const int* ldc);

/// Looks a symbol up in the running program (null without dlsym or when no loaded library has it).
inline void* find_symbol(const char* name) {
#ifdef CRINGE_HAS_DLSYM
    return dlsym(RTLD_DEFAULT, name);
#else
    (void)name;
    return nullptr;
#endif
}

/// OpenBLAS's sgemm_ (float) or dgemm_ (double), looked up once; null without OpenBLAS.
template <class T>
BlasGemm<T> blas_gemm() {
    static const auto gemm = reinterpret_cast<BlasGemm<T>>(find_symbol(std::is_same_v<T, float> ? "sgemm_" : "dgemm_"));
    return gemm;
}

/// OpenBLAS's core name, or "" when the program has no OpenBLAS.
inline std::string openblas_core_name() {
    using CoreName = char* (*)();
    auto corename = reinterpret_cast<CoreName>(find_symbol("openblas_get_corename"));
    if (corename == nullptr || find_symbol("sgemm_") == nullptr || find_symbol("dgemm_") == nullptr) return "";
    const char* name = corename();
    return name && *name ? name : "unknown";
}

/// Whether this build's Eigen code uses AVX-512 instructions.
inline constexpr bool build_has_avx512() {
#ifdef EIGEN_VECTORIZE_AVX512
    return true;
#else
    return false;
#endif
}

/// This process's choice, made at the first product (thread-safe; ValueError from a bad
/// CRINGE_MATRIX_PRODUCTS comes from that product, and again from every later one).
inline const ProductChoice& product_choice() {
    static const ProductChoice choice = choose_product_kernel(std::getenv("CRINGE_MATRIX_PRODUCTS"), openblas_core_name(), build_has_avx512());
    return choice;
}

/// The matrix products of this program in words, e.g. "Eigen's own GEMM, AVX-512 (OpenBLAS core
/// Haswell runs narrower kernels)", for the records of benchmarks and experiments.
inline std::string describe_matrix_products() {
#ifdef EIGEN_USE_BLAS
    return product_choice().why + " [EIGEN_USE_BLAS: Eigen's products go to BLAS]";
#else
    return product_choice().why;
#endif
}

/// A dense operand as BLAS sees it: its first element, the distance between its rows (row-major) or
/// columns (column-major), and which of the two it is.
template <class Scalar>
struct BlasOperand {
    const Scalar* data;
    Eigen::Index leading;
    bool row_major;
};

/// The operand of a direct-access Eigen matrix (a Map, a Matrix, or the transpose of one), or
/// nothing when BLAS cannot take it: elements not contiguous along the inner dimension, or rows
/// (columns) closer together than their length, as in a block of a vector or a stride-0 Map.
template <class X>
bool blas_operand(const X& x, BlasOperand<typename X::Scalar>& out) {
    if constexpr ((X::Flags & Eigen::DirectAccessBit) != 0) {
        const Eigen::Index inner = X::IsRowMajor ? x.cols() : x.rows();
        if (x.innerStride() != 1 || x.outerStride() < std::max<Eigen::Index>(inner, 1)) return false;
        out = {x.data(), x.outerStride(), bool(X::IsRowMajor)};
        return true;
    } else {
        return false;
    }
}

/// C (=, or += when accumulate) A B by OpenBLAS, when it can take these operands (float or double,
/// contiguous inner dimensions, sizes that fit its int); false when it cannot, and nothing is written.
template <class Dst, class Lhs, class Rhs>
bool openblas_gemm(Dst& dst, const Lhs& lhs, const Rhs& rhs, bool accumulate) {
    using T = typename std::decay_t<Dst>::Scalar;
    if constexpr (!std::is_same_v<T, float> && !std::is_same_v<T, double>) {
        return false;
    } else {
        const BlasGemm<T> gemm = blas_gemm<T>();
        BlasOperand<T> a{}, b{}, c{};
        if (gemm == nullptr || !blas_operand(lhs, a) || !blas_operand(rhs, b) || !blas_operand(dst, c)) return false;
        const Eigen::Index m = dst.rows(), n = dst.cols(), k = lhs.cols();
        // Sizes that do not fit are Eigen's to report (it asserts); BLAS would run past the buffers.
        if (lhs.rows() != m || rhs.rows() != k || rhs.cols() != n) return false;
        const Eigen::Index largest = std::max({m, n, k, a.leading, b.leading, c.leading});
        if (m == 0 || n == 0 || k == 0 || largest > INT_MAX) return false;  // Eigen handles empty and huge sizes
        T* c_data = dst.data();
        const T one = 1, beta = accumulate ? T(1) : T(0);
        const int lda = int(a.leading), ldb = int(b.leading), ldc = int(c.leading);
        // BLAS is column-major. A row-major C is the column-major C^T = B^T A^T: a row-major operand's
        // memory is its transpose in column-major, so it needs no transposing there ('N').
        if (c.row_major) {
            const int rows = int(n), cols = int(m), depth = int(k);
            const char trans_b = b.row_major ? 'N' : 'T', trans_a = a.row_major ? 'N' : 'T';
            gemm(&trans_b, &trans_a, &rows, &cols, &depth, &one, b.data, &ldb, a.data, &lda, &beta, c_data, &ldc);
        } else {
            const int rows = int(m), cols = int(n), depth = int(k);
            const char trans_a = a.row_major ? 'T' : 'N', trans_b = b.row_major ? 'T' : 'N';
            gemm(&trans_a, &trans_b, &rows, &cols, &depth, &one, a.data, &lda, b.data, &ldb, &beta, c_data, &ldc);
        }
        return true;
    }
}

/// C = A B (accumulate false) or C += A B (true) by the given kernel: dst is any writable Eigen matrix
/// (a Map or a Matrix) of size rows(A) x cols(B), not overlapping A or B.
template <class Dst, class Lhs, class Rhs>
void gemm_with(ProductKernel kernel, Dst&& dst, const Lhs& lhs, const Rhs& rhs, bool accumulate) {
    if (kernel == ProductKernel::openblas && openblas_gemm(dst, lhs, rhs, accumulate)) return;
    if (accumulate) dst.noalias() += lhs * rhs;
    else dst.noalias() = lhs * rhs;
}

/// C = A B (accumulate false) or C += A B (true) by this process's kernel (product_choice()).
template <class Dst, class Lhs, class Rhs>
void gemm(Dst&& dst, const Lhs& lhs, const Rhs& rhs, bool accumulate) {
    gemm_with(product_choice().kernel, dst, lhs, rhs, accumulate);
}

}  // namespace cringe::detail
