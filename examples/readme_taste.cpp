// examples/readme_taste.cpp (built and run by the test suite, so this stays true)
#include <cringe/cringe.hpp>
#include <iostream>
using namespace cringe;

int main() {
    Tape<double> tape;                                             // records ops in creation order
    auto x = tape.variable(from_values<double>({2, 3}, {1, 2, 3, 4, 5, 6}));
    auto w = tape.variable(from_values<double>({3, 2}, {.1, .2, .3, .4, .5, .6}));
    auto loss = sum(log_softmax(tanh(matmul(x, w))) * -0.5);       // any composition of ops
    tape.backward(loss);                                           // one reverse loop over the tape
    std::cout << x.grad() << "\n";                                 // d loss / d x, shape [2,3]

    // Check every gradient against finite differences AND forward-mode dual numbers:
    auto f = [](auto&, const auto& in) { return log_softmax(tanh(matmul(in[0], in[1]))); };
    auto report = gradcheck(f, {x.value(), w.value()});            // random cotangents
    std::cout << report.message() << "\n";                         // "gradcheck passed" + one fact a line

    // The CRINGE loss on logits [B,T,V]: swap the policy type to change the loss.
    Rng rng(1);
    auto logits = tape.variable(zeros<double>({1, 2, 5}));
    loss::Batch batch{IdTensor::from_shape({1, 2}), /*labels: negative*/ {0}, /*pad id*/ -1, {}};
    batch.targets(0, 0) = 3;
    batch.targets(0, 1) = 1;
    auto out = loss::Cringe<double>{.alpha = 1.0, .k = 5}(logits, batch, loss::Sampler{&rng, nullptr});
    tape.backward(out.loss);                                       // the fused closed-form backward
}
