// Built against the installed package's cringe::io: a training state of a tiny GPT saved to the
// directory given as argv[1], then loaded back INTO another model and its optimiser.
#include <cringe/cringe.hpp>
#include <cringe/io/io.hpp>

#include <filesystem>
#include <iostream>

int main(int argc, char** argv) {
    using namespace cringe;
    if (argc != 2) {
        std::cerr << "usage: downstream_io DIR\n";
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    std::filesystem::remove_all(dir);
    const nn::GptConfig config{.vocab_size = 7, .n_positions = 6, .n_embd = 8, .n_layer = 1, .n_head = 2};
    nn::Gpt<float> model(config, 1);
    const train::TrainOptions options{};
    auto optimizer = train::make_optimizer(model, options);
    io::save_training_state(dir, model, optimizer, {.step = 4, .rng = Rng(9).state()});

    nn::Gpt<float> resumed(config, 2);
    auto resumed_optimizer = train::make_optimizer(resumed, options);
    const auto point = io::load_training_state(dir, resumed, resumed_optimizer);
    bool ok = point && point->step == 4;
    for (std::size_t i = 0; ok && i < model.parameters().size(); ++i) ok = resumed.parameters()[i].value == model.parameters()[i].value;
    std::cout << (ok ? "downstream_io ok" : "downstream_io WRONG") << ", state of step " << (point ? point->step : 0) << "\n";
    return ok ? 0 : 1;
}
