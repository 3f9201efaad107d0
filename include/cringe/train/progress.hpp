// cringe/train/progress.hpp - one self-overwriting progress line on a terminal, quiet otherwise.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace cringe::train {

/// A progress line on standard error: step, loss, rate and time left.
class Progress {
public:
    /// `label` prefixes the line ("safety cringe round 1"); `total` steps.
    Progress(std::string label, std::size_t total, bool enabled = ::isatty(STDERR_FILENO) != 0)
        : label_(std::move(label)), total_(total), enabled_(enabled), start_(Clock::now()) {}

    /// One line of text above the progress line (only when enabled).
    void note(const std::string& text) const {
        if (enabled_) std::fprintf(stderr, "%s: %s\n", label_.c_str(), text.c_str());
    }

    /// step counts from 1; tokens = supervised tokens so far.
    void update(std::size_t step, double loss, std::size_t tokens) {
        if (!enabled_) return;
        const auto now = Clock::now();
        if (step != total_ && now - last_ < std::chrono::milliseconds(100)) return;
        last_ = now;
        const double elapsed = std::chrono::duration<double>(now - start_).count();
        const double rate = elapsed > 0 ? static_cast<double>(tokens) / elapsed : 0.0;
        const double eta = step > 0 ? elapsed * static_cast<double>(total_ - step) / static_cast<double>(step) : 0.0;
        std::fprintf(stderr, "\r\033[K%s  step %zu/%zu  loss %.4f  %.1fk tok/s  ETA %02d:%02d", label_.c_str(), step, total_, loss,
                     rate / 1000.0, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
        if (step == total_) std::fprintf(stderr, "\n");
        std::fflush(stderr);
    }

private:
    using Clock = std::chrono::steady_clock;
    std::string label_;
    std::size_t total_;
    bool enabled_;
    Clock::time_point start_, last_{};
};

}  // namespace cringe::train
