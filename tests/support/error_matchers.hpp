// Matchers for the messages of cringe's exceptions (docs/errors.md), for REQUIRE_THROWS_MATCHES:
//   REQUIRE_THROWS_MATCHES(expr, cringe::ShapeError, Says("from_values: 3 values do not fill ..."));
//   REQUIRE_THROWS_MATCHES(expr, cringe::IoError, SaysAll({"load_training_state: ", "LATEST"}));
// The macro checks the exception's type (another cringe::Error, or none, fails the test); the
// matcher checks what(): Says the whole message, SaysAll that it contains every fragment.
#pragma once

#include <catch2/catch.hpp>

#include <exception>
#include <string>
#include <vector>

namespace cringe::testing {

/// The exact message.
inline Catch::Matchers::Exception::ExceptionMessageMatcher Says(const std::string& message) {
    return Catch::Matchers::Message(message);
}

class MessageContainsAll : public Catch::MatcherBase<std::exception> {
public:
    explicit MessageContainsAll(std::vector<std::string> fragments) : fragments_(std::move(fragments)) {}
    bool match(const std::exception& e) const override {
        const std::string what = e.what();
        for (const auto& f : fragments_)
            if (what.find(f) == std::string::npos) return false;
        return true;
    }
    std::string describe() const override {
        std::string out = "has a message containing all of:";
        for (const auto& f : fragments_) out += " \"" + f + "\"";
        return out;
    }

private:
    std::vector<std::string> fragments_;
};

/// A message that contains every fragment (for messages with temporary paths or source lines).
inline MessageContainsAll SaysAll(std::vector<std::string> fragments) { return MessageContainsAll(std::move(fragments)); }

}  // namespace cringe::testing
