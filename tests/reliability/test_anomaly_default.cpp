// -DCRINGE_ANOMALY_MODE_DEFAULT=true (docs/errors.md, Anomaly mode) starts every tape in anomaly
// mode. This file defines it before including the library; it is its own program, so no other
// translation unit sees another value.
#define CRINGE_ANOMALY_MODE_DEFAULT true

#include "../support/error_matchers.hpp"

#include <cringe/ops/ops.hpp>

#include <cmath>

using namespace cringe;
using namespace cringe::testing;

TEST_CASE("CRINGE_ANOMALY_MODE_DEFAULT=true: tapes start in anomaly mode, a guard can turn it off", "[anomaly]") {
    Tape<double> tape;
    REQUIRE(tape.anomaly_mode());
    auto x = tape.variable(from_values<double>({2}, {1.0, 0.0}));
    const unsigned line = __LINE__ + 1;
    auto log_of_zero = [&] { return log(x); };
    REQUIRE_THROWS_MATCHES(log_of_zero(), NumericalError,
                           Says(cat("anomaly: forward value of log (inputs [2]; output [2]) created at ", __FILE__, ":", line,
                                    " is not finite at element 1 (value -inf)")));
    {
        auto off = tape.detect_anomaly(false);
        REQUIRE_FALSE(tape.anomaly_mode());
        REQUIRE(std::isinf(log(x).value()(1)));
    }
    REQUIRE(tape.anomaly_mode());  // the guard restored the default
}
