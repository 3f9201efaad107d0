// cringe/detail/buffer_cache.hpp - where tensor buffers come from: 64-byte aligned memory, recycled
// through a per-thread cache. Speed and reproducibility machinery, kept out of tensor.hpp so that a
// reader meets the Tensor type first (docs/design.md, "Layers").
#pragma once

#include <algorithm>
#include <cstddef>
#include <new>
#include <unordered_map>
#include <vector>

namespace cringe {

namespace detail {

/// A per-thread cache of freed tensor buffers, by size. A training step allocates the same buffers
/// (values, adjoints) in every iteration; handing them back to malloc makes glibc return the pages to
/// the kernel and fault them in again, which measured at 30-40% of a step. Reusing them removes that.
/// Bounded: it holds at most max(256 MiB, the thread's high-water mark of buffers in use) - a
/// program that once held N bytes of tensors at a time is likely to need them again (the next
/// training step), and a fixed bound below one step's memory (a small GPT in double) sent part of
/// every step back to the kernel: thousands of page faults per step. Disabled under
/// AddressSanitizer (CRINGE_NO_BUFFER_CACHE) so that use-after-free is still caught.
class BufferCache {
public:
    /// The cache may always hold this much, whatever the high-water mark.
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
            BufferCache& cache = instance();
            cache.note_in_use(bytes);
            auto& blocks = cache.free_[bytes];
            if (!blocks.empty()) {
                void* p = blocks.back();
                blocks.pop_back();
                cache.cached_ -= bytes;
                return p;
            }
        }
#endif
        return ::operator new(bytes, alignment);
    }
    static void deallocate(void* p, [[maybe_unused]] std::size_t bytes) noexcept {
#ifndef CRINGE_NO_BUFFER_CACHE
        if (!dead()) {
            BufferCache& cache = instance();
            // A buffer allocated on another thread was not counted here: never below zero.
            cache.in_use_ -= std::min(cache.in_use_, bytes);
            const std::size_t limit = std::max(max_cached_bytes, cache.peak_in_use_);
            cache.evict_other_sizes(bytes, limit);
            if (cache.cached_ + bytes <= limit) {
                try {
                    cache.free_[bytes].push_back(p);
                    cache.cached_ += bytes;
                    return;
                } catch (...) {  // no memory for the bookkeeping: just free it
                }
            }
        }
#endif
        ::operator delete(p, alignment);
    }

    /// Bytes this thread's cache holds for reuse (0 when the cache is compiled out).
    static std::size_t cached_bytes() {
#ifndef CRINGE_NO_BUFFER_CACHE
        if (!dead()) return instance().cached_;
#endif
        return 0;
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
    // Makes room for a block of `bytes` by freeing cached blocks of OTHER sizes: a program that moves
    // on to other shapes (another model, another batch size) keeps the blocks it uses now, not the
    // ones it used before (without this, stale sizes filled the cache and the new step's blocks went
    // back to the kernel: thousands of page faults per step).
    void evict_other_sizes(std::size_t bytes, std::size_t limit) noexcept {
        for (auto it = free_.begin(); it != free_.end() && cached_ + bytes > limit; ++it) {
            if (it->first == bytes) continue;
            std::vector<void*>& blocks = it->second;
            while (!blocks.empty() && cached_ + bytes > limit) {
                ::operator delete(blocks.back(), alignment);
                blocks.pop_back();
                cached_ -= it->first;
            }
        }
    }

    void note_in_use(std::size_t bytes) {
        in_use_ += bytes;
        peak_in_use_ = std::max(peak_in_use_, in_use_);
    }

    std::unordered_map<std::size_t, std::vector<void*>> free_;
    // Bytes held in free_, bytes handed out by this thread and not yet returned, and the most of those
    // at any time (all unread with CRINGE_NO_BUFFER_CACHE).
    [[maybe_unused]] std::size_t cached_ = 0;
    [[maybe_unused]] std::size_t in_use_ = 0;
    [[maybe_unused]] std::size_t peak_in_use_ = 0;
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
