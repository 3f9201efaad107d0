// Tests for detail/gemm.hpp: the rule that picks Eigen's GEMM or OpenBLAS, and both kernels on every
// operand layout the library passes them (row-major maps, their transposes, strided maps, plain
// matrices), assigning and accumulating, against a long-double triple loop.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "cringe/detail/gemm.hpp"
#include "cringe/dual.hpp"
#include "cringe/rng.hpp"
#include "cringe/tensor.hpp"

namespace {

using cringe::detail::choose_product_kernel;
using cringe::detail::ProductKernel;

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Strided = Eigen::Map<RowMatrix<T>, 0, Eigen::OuterStride<>>;

TEST_CASE("gemm: the rule picks OpenBLAS when its kernels are as wide as the build's, else Eigen", "[core][gemm]") {
    // auto (unset or "auto")
    CHECK(choose_product_kernel(nullptr, "SkylakeX", true).kernel == ProductKernel::openblas);
    CHECK(choose_product_kernel("auto", "Cooperlake", true).kernel == ProductKernel::openblas);
    CHECK(choose_product_kernel(nullptr, "SapphireRapids", false).kernel == ProductKernel::openblas);
    CHECK(choose_product_kernel(nullptr, "SKYLAKEX", true).kernel == ProductKernel::openblas);  // an OpenBLAS built for one CPU
    CHECK(choose_product_kernel(nullptr, "Haswell", true).kernel == ProductKernel::eigen);   // the development machine
    CHECK(choose_product_kernel(nullptr, "Zen", true).kernel == ProductKernel::eigen);
    CHECK(choose_product_kernel(nullptr, "Haswell", false).kernel == ProductKernel::openblas);  // an AVX2 build
    CHECK(choose_product_kernel(nullptr, "", true).kernel == ProductKernel::eigen);           // no OpenBLAS
    CHECK(choose_product_kernel(nullptr, "", false).kernel == ProductKernel::eigen);
    // by hand
    CHECK(choose_product_kernel("eigen", "SkylakeX", true).kernel == ProductKernel::eigen);
    CHECK(choose_product_kernel("openblas", "Haswell", true).kernel == ProductKernel::openblas);
    // the reasons name the kernels
    CHECK(choose_product_kernel(nullptr, "Haswell", true).why == "Eigen's own GEMM, AVX-512 (OpenBLAS core Haswell runs narrower kernels)");
    CHECK(choose_product_kernel(nullptr, "SkylakeX", true).why == "OpenBLAS core SkylakeX (AVX-512 kernels)");
    CHECK(choose_product_kernel(nullptr, "", true).why == "Eigen's own GEMM (no OpenBLAS in this program)");
}

TEST_CASE("gemm: a request it does not know, or openblas without OpenBLAS, is a ValueError naming the variable", "[core][gemm][errors]") {
    CHECK_THROWS_MATCHES(choose_product_kernel("blas", "Haswell", true), cringe::ValueError,
                         Catch::Message("CRINGE_MATRIX_PRODUCTS is \"blas\"; expected auto, eigen or openblas"));
    CHECK_THROWS_MATCHES(choose_product_kernel("", "Haswell", true), cringe::ValueError,
                         Catch::Message("CRINGE_MATRIX_PRODUCTS is \"\"; expected auto, eigen or openblas"));
    CHECK_THROWS_WITH(choose_product_kernel("openblas", "", true),
                      Catch::Contains("CRINGE_MATRIX_PRODUCTS is \"openblas\", but this program has no OpenBLAS"));
}

/// A rows x cols matrix of values in [-1, 1).
template <class T>
RowMatrix<T> random_matrix(Eigen::Index rows, Eigen::Index cols, cringe::Rng& rng) {
    RowMatrix<T> m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = T(2 * rng.uniform() - 1);
    return m;
}

/// C0 (when accumulating) + A B in long double, element by element.
template <class Out, class A, class B>
std::vector<long double> reference_product(const Out& c0, const A& a, const B& b, bool accumulate) {
    std::vector<long double> out;
    for (Eigen::Index i = 0; i < a.rows(); ++i)
        for (Eigen::Index j = 0; j < b.cols(); ++j) {
            long double sum = accumulate ? static_cast<long double>(c0(i, j)) : 0.0L;
            for (Eigen::Index p = 0; p < a.cols(); ++p) sum += static_cast<long double>(a(i, p)) * static_cast<long double>(b(p, j));
            out.push_back(sum);
        }
    return out;
}

/// Runs one product with `kernel` into a copy of c0 and compares it with the long-double reference.
template <class T, class A, class B>
void check_product(ProductKernel kernel, const RowMatrix<T>& c0, const A& a, const B& b, bool accumulate) {
    RowMatrix<T> c = c0;
    cringe::detail::gemm_with(kernel, c, a, b, accumulate);
    const auto expected = reference_product(c0, a, b, accumulate);
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    std::size_t k = 0;
    for (Eigen::Index i = 0; i < c.rows(); ++i)
        for (Eigen::Index j = 0; j < c.cols(); ++j, ++k) {
            INFO("element (" << i << ", " << j << ")");
            CHECK(static_cast<double>(c(i, j)) == Approx(static_cast<double>(expected[k])).margin(tolerance * (1 + static_cast<double>(a.cols()))));
        }
}

TEMPLATE_TEST_CASE("gemm: both kernels compute every layout the library uses, assigning and accumulating", "[core][gemm]", float, double) {
    using T = TestType;
    cringe::Rng rng(7);
    const Eigen::Index m = 13, k = 21, n = 9;  // odd sizes: tails in every blocking
    const RowMatrix<T> A = random_matrix<T>(m, k, rng), B = random_matrix<T>(k, n, rng), At = A.transpose(), Bt = B.transpose();
    // A wide buffer that holds A in its first k columns: a strided operand, as attention's heads are.
    RowMatrix<T> wide = random_matrix<T>(m, k + 5, rng);
    wide.leftCols(k) = A;
    const Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>> A_strided(wide.data(), m, k, Eigen::OuterStride<>(k + 5));
    const RowMatrix<T> c0 = random_matrix<T>(m, n, rng);
    for (const auto kernel : {ProductKernel::eigen, ProductKernel::openblas}) {
        INFO("kernel " << (kernel == ProductKernel::eigen ? "eigen" : "openblas"));
        for (const bool accumulate : {false, true}) {
            INFO("accumulate " << accumulate);
            check_product<T>(kernel, c0, A, B, accumulate);                          // A B
            check_product<T>(kernel, c0, A, Bt.transpose(), accumulate);             // A (B^T)^T: q k^T
            check_product<T>(kernel, c0, At.transpose(), B, accumulate);             // (A^T)^T B: a^T grad
            check_product<T>(kernel, c0, At.transpose(), Bt.transpose(), accumulate);
            check_product<T>(kernel, c0, A_strided, B, accumulate);                  // a strided head
        }
        // A strided destination (a head's slice of [B,T,C]), written in place and around nothing else.
        RowMatrix<T> out_wide = random_matrix<T>(m, n + 3, rng);
        const RowMatrix<T> before = out_wide;
        Strided<T> out(out_wide.data(), m, n, Eigen::OuterStride<>(n + 3));
        cringe::detail::gemm_with(kernel, out, A, B, true);
        const auto expected = reference_product(before.leftCols(n), A, B, true);
        std::size_t idx = 0;
        for (Eigen::Index i = 0; i < m; ++i) {
            for (Eigen::Index j = 0; j < n; ++j, ++idx)
                CHECK(static_cast<double>(out_wide(i, j)) == Approx(static_cast<double>(expected[idx])).margin(1e-4));
            for (Eigen::Index j = n; j < n + 3; ++j) CHECK(out_wide(i, j) == before(i, j));  // the columns beyond are untouched
        }
    }
}

TEMPLATE_TEST_CASE("gemm: assigning never reads the destination's stale values (write-first adjoints)", "[core][gemm]", float, double) {
    using T = TestType;
    cringe::Rng rng(3);
    // sizes m x k x n: a plain product, single rows and columns (decoding one sequence), a single k
    for (const auto& [m, k, n] : {std::array<Eigen::Index, 3>{40, 33, 17}, {1, 33, 17}, {40, 33, 1}, {1, 33, 1}, {40, 1, 17}}) {
        INFO(m << " x " << k << " x " << n);
        const RowMatrix<T> A = random_matrix<T>(m, k, rng), B = random_matrix<T>(k, n, rng), At = A.transpose(), Bt = B.transpose();
        const auto expected = reference_product(RowMatrix<T>(m, n), A, B, false);
        for (const auto kernel : {ProductKernel::eigen, ProductKernel::openblas}) {
            INFO("kernel " << (kernel == ProductKernel::eigen ? "eigen" : "openblas"));
            for (int layout = 0; layout < 2; ++layout) {
                RowMatrix<T> c = RowMatrix<T>::Constant(m, n, std::numeric_limits<T>::quiet_NaN());
                if (layout == 0) cringe::detail::gemm_with(kernel, c, A, B, false);
                else cringe::detail::gemm_with(kernel, c, At.transpose(), Bt.transpose(), false);
                REQUIRE(c.allFinite());
                for (Eigen::Index i = 0; i < m * n; ++i)
                    CHECK(static_cast<double>(c.data()[i]) == Approx(static_cast<double>(expected[static_cast<std::size_t>(i)])).margin(1e-4));
            }
        }
    }
}

TEMPLATE_TEST_CASE("gemm: attention's operands: strided right-hand sides and a column-major destination", "[core][gemm]", float, double) {
    using T = TestType;
    cringe::Rng rng(11);
    const Eigen::Index t = 7, d = 4, width = 3 * 4;  // one head's [T,D] slices of a [T,3C] buffer: C = D = 4, H = 1
    const RowMatrix<T> qkv = random_matrix<T>(t, width, rng), P = random_matrix<T>(t, t, rng);
    const Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>> K(qkv.data() + 4, t, d, Eigen::OuterStride<>(width));
    const Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>> V(qkv.data() + 8, t, d, Eigen::OuterStride<>(width));
    const RowMatrix<T> c0 = random_matrix<T>(t, d, rng), s0 = random_matrix<T>(t, t, rng);
    for (const auto kernel : {ProductKernel::eigen, ProductKernel::openblas}) {
        INFO("kernel " << (kernel == ProductKernel::eigen ? "eigen" : "openblas"));
        check_product<T>(kernel, c0, P, V, false);                // Y = P V
        check_product<T>(kernel, s0, K, K.transpose(), true);     // S += K K^T
        check_product<T>(kernel, c0, P.transpose(), V, true);     // grad_V += A^T G
        // a column-major destination (none of the library's, but the door takes it)
        Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> col(t, d);
        col.setConstant(std::numeric_limits<T>::quiet_NaN());
        cringe::detail::gemm_with(kernel, col, P, V, false);
        const auto expected = reference_product(c0, P, V, false);
        std::size_t idx = 0;
        for (Eigen::Index i = 0; i < t; ++i)
            for (Eigen::Index j = 0; j < d; ++j, ++idx) CHECK(static_cast<double>(col(i, j)) == Approx(static_cast<double>(expected[idx])).margin(1e-4));
    }
}

TEST_CASE("gemm: OpenBLAS takes every layout above when the program has it", "[core][gemm]") {
    cringe::Rng rng(5);
    const RowMatrix<double> A = random_matrix<double>(6, 4, rng), B = random_matrix<double>(4, 5, rng), Bt = B.transpose();
    RowMatrix<double> c(6, 5);
    const bool have_openblas = !cringe::detail::openblas_core_name().empty();
    // Without OpenBLAS (the sanitizer build) the call declines and the caller falls back to Eigen.
    CHECK(cringe::detail::openblas_gemm(c, A, B, false) == have_openblas);
    CHECK(cringe::detail::openblas_gemm(c, A, Bt.transpose(), true) == have_openblas);
    CHECK(cringe::detail::openblas_gemm(c, A.transpose().transpose(), B, true) == have_openblas);
    // A column-major destination and a strided operand are BLAS's too.
    Eigen::MatrixXd col(6, 5);
    CHECK(cringe::detail::openblas_gemm(col, A, B, false) == have_openblas);
    // Operands BLAS cannot describe, and sizes that do not fit, are declined (Eigen then runs or asserts).
    const double one[4] = {1, 2, 3, 4};
    const Eigen::Map<const RowMatrix<double>, 0, Eigen::OuterStride<>> repeated_row(one, 4, 4, Eigen::OuterStride<>(0));
    RowMatrix<double> c44(4, 4);
    CHECK_FALSE(cringe::detail::openblas_gemm(c44, repeated_row, RowMatrix<double>::Identity(4, 4), false));
    RowMatrix<double> wrong(6, 4);
    CHECK_FALSE(cringe::detail::openblas_gemm(wrong, A, B, false));
    // Empty products and scalars BLAS does not know go to Eigen.
    RowMatrix<double> empty_k_left(6, 0), empty_k_right(0, 5);
    CHECK_FALSE(cringe::detail::openblas_gemm(c, empty_k_left, empty_k_right, false));
    using D = cringe::dual::Dual<double>;
    RowMatrix<D> dual_a(2, 2), dual_b(2, 2), dual_c(2, 2);
    dual_a.setConstant(D(1.0, 1.0));
    dual_b.setConstant(D(2.0, 0.0));
    CHECK_FALSE(cringe::detail::openblas_gemm(dual_c, dual_a, dual_b, false));
}

TEST_CASE("gemm: an empty inner dimension gives zeros, or leaves an accumulated destination as it was", "[core][gemm]") {
    for (const auto kernel : {ProductKernel::eigen, ProductKernel::openblas}) {
        const RowMatrix<double> a(3, 0), b(0, 2);
        RowMatrix<double> c = RowMatrix<double>::Constant(3, 2, 7.0);
        cringe::detail::gemm_with(kernel, c, a, b, true);
        CHECK((c.array() == 7.0).all());
        cringe::detail::gemm_with(kernel, c, a, b, false);
        CHECK((c.array() == 0.0).all());
    }
}

TEST_CASE("gemm: dual numbers go through Eigen's GEMM with their derivatives", "[core][gemm]") {
    using D = cringe::dual::Dual<double>;
    RowMatrix<D> a(1, 2), b(2, 1), c(1, 1);
    a << D(1.0, 1.0), D(2.0, 0.0);  // d/dt of a(0,0) is 1
    b << D(3.0, 0.0), D(4.0, 0.0);
    for (const auto kernel : {ProductKernel::eigen, ProductKernel::openblas}) {
        cringe::detail::gemm_with(kernel, c, a, b, false);
        CHECK(c(0, 0).val == 11.0);  // 1*3 + 2*4
        CHECK(c(0, 0).der == 3.0);                  // d/dt (a00 * 3) = 3
    }
}

TEST_CASE("gemm: the program's choice is described for the records", "[core][gemm]") {
    const std::string described = cringe::detail::describe_matrix_products();
    const auto& choice = cringe::detail::product_choice();
    CHECK(described.rfind(choice.why, 0) == 0);
    if (choice.kernel == ProductKernel::openblas) CHECK_THAT(described, Catch::Contains("OpenBLAS core"));
    else CHECK_THAT(described, Catch::Contains("Eigen's own GEMM"));
}

}  // namespace
