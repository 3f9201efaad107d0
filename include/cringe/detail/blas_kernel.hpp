// cringe/detail/blas_kernel.hpp - which matrix-product kernel this program runs, in words, for the
// records a benchmark or an experiment writes (bench/, cringe-repro's summary.json).
//
// Why it matters: the kernel decides the order of the sums inside every product, so results differ in
// their last bits between kernels, and a speed figure means little without it. OpenBLAS picks its
// kernels when it loads, from the CPU (or from the environment variable OPENBLAS_CORETYPE); on a CPU
// newer than the OpenBLAS release it may fall back to older ones (docs/performance.md).
//
// The headers do not require OpenBLAS: its two functions are declared weak, so a program linked without
// it sees null pointers and gets a description instead of a name.
#pragma once

#include <string>

#if defined(__GNUC__) && defined(__ELF__)
extern "C" char* openblas_get_corename(void) __attribute__((weak));
extern "C" char* openblas_get_config(void) __attribute__((weak));
#define CRINGE_HAS_WEAK_OPENBLAS_NAMES 1
#endif

namespace cringe::detail {

/// The matrix-product kernel in use: "OpenBLAS core Haswell (OpenBLAS 0.3.21 DYNAMIC_ARCH ...)" when
/// Eigen hands products to OpenBLAS (EIGEN_USE_BLAS), else a description of what runs them.
inline std::string blas_kernel() {
#ifdef EIGEN_USE_BLAS
#ifdef CRINGE_HAS_WEAK_OPENBLAS_NAMES
    if (openblas_get_corename != nullptr) {
        std::string name = std::string("OpenBLAS core ") + openblas_get_corename();
        if (openblas_get_config != nullptr) name += std::string(" (") + openblas_get_config() + ")";
        return name;
    }
#endif
    return "a BLAS that is not OpenBLAS (EIGEN_USE_BLAS)";
#else
    return "Eigen's own GEMM (no EIGEN_USE_BLAS)";
#endif
}

}  // namespace cringe::detail
