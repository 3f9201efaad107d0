// Tests of the buffer cache (include/cringe/detail/buffer_cache.hpp): what it keeps for reuse.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "cringe/tensor.hpp"

#ifndef CRINGE_NO_BUFFER_CACHE
// The bug: a fixed 256 MiB bound sent the buffers of a step that needs more (a small GPT in double)
// back to the kernel every step, thousands of page faults per step. The bound is now the larger of
// 256 MiB and the thread's high-water mark of buffers in use. The blocks below are never written, so
// they cost address space, not memory.
TEST_CASE("buffer cache: keeps every block of a working set larger than 256 MiB", "[core][buffer_cache]") {
    using cringe::detail::BufferCache;
    constexpr std::size_t block = std::size_t{100} << 20;  // 3 x 100 MiB held at once
    std::vector<void*> blocks;
    for (int i = 0; i < 3; ++i) blocks.push_back(BufferCache::allocate(block));
    for (void* p : blocks) BufferCache::deallocate(p, block);
    CHECK(BufferCache::cached_bytes() >= 3 * block);
    // The next "step" takes the same blocks back from the cache.
    std::vector<void*> again;
    for (int i = 0; i < 3; ++i) again.push_back(BufferCache::allocate(block));
    for (void* p : again) CHECK(std::find(blocks.begin(), blocks.end(), p) != blocks.end());
    for (void* p : again) BufferCache::deallocate(p, block);
}
#endif
