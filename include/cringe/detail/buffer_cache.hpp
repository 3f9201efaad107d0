// cringe/detail/buffer_cache.hpp - where tensor buffers come from: 64-byte aligned memory, recycled
// through a per-thread cache. Speed and reproducibility machinery, kept out of tensor.hpp so that a
// reader meets the Tensor type first (docs/design.md, "Layers").
#pragma once

#include <cstddef>
#include <new>
#include <unordered_map>
#include <vector>

namespace cringe {

namespace detail {

/// A per-thread cache of freed tensor buffers, by size. A training step allocates the same buffers
/// (values, adjoints) in every iteration; handing them back to malloc makes glibc return the pages to
/// the kernel and fault them in again, which measured at 30-40% of a step. Reusing them removes that.
/// Bounded (256 MiB per thread); disabled under AddressSanitizer so that use-after-free is still caught.
class BufferCache {
public:
    static constexpr std::size_t max_cached_bytes = std::size_t{256} << 20;
    static constexpr std::align_val_t alignment{64};

    ~BufferCache() {
        for (auto& [bytes, blocks] : free_)
            for (void* p : blocks) ::operator delete(p, alignment);
        dead() = true;
    }
    static void* allocate(std::size_t bytes) {
#ifndef CRINGE_NO_BUFFER_CACHE
        if (!dead()) {
            auto& blocks = instance().free_[bytes];
            if (!blocks.empty()) {
                void* p = blocks.back();
                blocks.pop_back();
                instance().cached_ -= bytes;
                return p;
            }
        }
#endif
        return ::operator new(bytes, alignment);
    }
    static void deallocate(void* p, [[maybe_unused]] std::size_t bytes) noexcept {
#ifndef CRINGE_NO_BUFFER_CACHE
        if (!dead() && instance().cached_ + bytes <= max_cached_bytes) {
            try {
                instance().free_[bytes].push_back(p);
                instance().cached_ += bytes;
                return;
            } catch (...) {  // no memory for the bookkeeping: just free it
            }
        }
#endif
        ::operator delete(p, alignment);
    }

private:
    static BufferCache& instance() {
        thread_local BufferCache cache;
        return cache;
    }
    static bool& dead() {  // trivially destructible, so readable after the cache itself is gone
        thread_local bool flag = false;
        return flag;
    }
    std::unordered_map<std::size_t, std::vector<void*>> free_;
    [[maybe_unused]] std::size_t cached_ = 0;  // bytes held in free_ (unread with CRINGE_NO_BUFFER_CACHE)
};

}  // namespace detail

/// Allocates every tensor buffer on a 64-byte boundary, through the per-thread buffer cache. The
/// alignment matters for more than speed: Eigen processes an unaligned buffer's first few elements
/// one at a time (scalar exp, scalar sums) and the rest in SIMD packets, and the two paths can differ
/// in the last bit. With every buffer equally aligned, the same program gives bitwise-identical
/// results on every run (training is reproducible).
template <class T>
struct AlignedAllocator {
    /// The element type.
    using value_type = T;
    AlignedAllocator() noexcept = default;
    /// Rebinding to another element type (all instances share one cache).
    template <class U>
    AlignedAllocator(const AlignedAllocator<U>&) noexcept {}  // NOLINT: rebinding
    /// Memory for n elements, aligned, from the buffer cache.
    T* allocate(std::size_t n) { return static_cast<T*>(detail::BufferCache::allocate(n * sizeof(T))); }
    /// Returns memory to the buffer cache.
    void deallocate(T* p, std::size_t n) noexcept { detail::BufferCache::deallocate(p, n * sizeof(T)); }
    /// All instances share one cache.
    template <class U>
    bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
};

}  // namespace cringe
