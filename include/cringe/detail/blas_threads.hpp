// cringe/detail/blas_threads.hpp - keeps a multi-threaded OpenBLAS out of the way of cringe's own
// threads. Speed machinery, used by kernels that split work over std::threads (kernels/attention.hpp).
//
// Why: when several of our threads each call a product that OpenBLAS would thread, OpenBLAS's worker
// threads and ours compete for the same cores: on the 2-core machine a medium training step with two
// attention threads beside OPENBLAS_NUM_THREADS=2 took five times the CPU time of the step with one;
// with this guard it takes about the same as with one (docs/kernels.md, "Threads", has the figures).
// While a guard lives, OpenBLAS runs every product on the thread that calls it; the guard's
// destructor restores the thread count it found. The bits do not change: OpenBLAS splits a
// product's rows and columns over its threads, never the sum over k.
//
// The headers do not require OpenBLAS: the two functions are declared weak, so a program linked without
// OpenBLAS (Eigen's own GEMM, another BLAS) sees null pointers and the guard does nothing. The setting
// is process-wide: another thread of the program that calls BLAS while a guard lives runs its products
// on one thread too.
#pragma once

#if defined(__GNUC__) && defined(__ELF__)
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" int openblas_get_num_threads(void) __attribute__((weak));
#define CRINGE_HAS_WEAK_OPENBLAS 1
#endif

namespace cringe::detail {

/// While it lives, OpenBLAS (if the program links it) runs products on the calling thread only.
class SingleThreadedBlas {
public:
    SingleThreadedBlas() {
#ifdef CRINGE_HAS_WEAK_OPENBLAS
        if (openblas_get_num_threads != nullptr && openblas_set_num_threads != nullptr) {
            saved_ = openblas_get_num_threads();
            if (saved_ > 1) openblas_set_num_threads(1);
        }
#endif
    }
    ~SingleThreadedBlas() {
#ifdef CRINGE_HAS_WEAK_OPENBLAS
        if (saved_ > 1) openblas_set_num_threads(saved_);
#endif
    }
    SingleThreadedBlas(const SingleThreadedBlas&) = delete;
    SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

    /// The OpenBLAS thread count found (and restored at the end); 0 without OpenBLAS.
    int saved_threads() const { return saved_; }

private:
    int saved_ = 0;
};

}  // namespace cringe::detail
