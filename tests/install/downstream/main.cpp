// Built against the installed package: y = sum(x * x), dy/dx = 2x.
#include <cringe/cringe.hpp>
#include <cstring>
#include <iostream>

int main() {
    cringe::Tape<double> tape;
    auto x = tape.variable(cringe::from_values<double>({3}, {1.0, 2.0, 3.0}));
    auto y = cringe::sum(x * x);
    tape.backward(y);
    const auto& g = x.grad();
    const bool ok = y.value()() == 14.0 && g(0) == 2.0 && g(1) == 4.0 && g(2) == 6.0;
    const bool same_version = std::strcmp(cringe::version_string, PACKAGE_VERSION) == 0;
    std::cout << (ok ? "downstream ok" : "downstream WRONG") << ", headers " << cringe::version_string
              << ", package " << PACKAGE_VERSION << "\n";
    return ok && same_version ? 0 : 1;
}
