// Linked into the project's own programs (tests, examples, benchmarks) when they use OpenBLAS
// (CRINGE_USE_OPENBLAS): one BLAS thread unless OPENBLAS_NUM_THREADS or OMP_NUM_THREADS asks for more.
// Threading is opt-in: on a busy 2-core machine a 2-thread step was 10-100x slower than 1 thread
// (docs/performance.md, "How to rerun"). The headers know nothing of this; it is a build setting.
#include <cstdlib>

extern "C" void openblas_set_num_threads(int);

namespace {
[[maybe_unused]] const bool one_blas_thread_by_default = [] {
    if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr && std::getenv("OMP_NUM_THREADS") == nullptr) openblas_set_num_threads(1);
    return true;
}();
}  // namespace
