// train/model.hpp: which types are models, and the training-mode forward that feeds dropout its Rng.
#include "../support/testing.hpp"

#include <cringe/nn/mlp.hpp>
#include <cringe/train/trainer.hpp>

using namespace cringe;

namespace {
// A model without a forward: parameters alone do not make a Model.
struct ParametersOnly {
    using scalar_type = double;
    std::vector<Parameter<double>> params;
    std::vector<Parameter<double>>& parameters() { return params; }
};

// A model that records which forward the loop called.
struct RecordsMode {
    using scalar_type = double;
    std::vector<Parameter<double>> params{Parameter<double>("w", zeros<double>({1}))};
    bool saw_training = false;
    Rng* saw_rng = nullptr;
    std::vector<Parameter<double>>& parameters() { return params; }
    Var<double> forward(Tape<double>& tape, const Tensor<double>& x, bool training = false, Rng* rng = nullptr) {
        saw_training = training;
        saw_rng = rng;
        return tape.constant(x);
    }
};
}  // namespace

TEST_CASE("Model: Linear, Mlp and Gpt are models of their inputs; parameters alone are not", "[train][model]") {
    STATIC_REQUIRE(train::Model<nn::Linear<double>, Tensor<double>>);
    STATIC_REQUIRE(train::Model<nn::Mlp<float>, Tensor<float>>);
    STATIC_REQUIRE(train::Model<nn::Mlp<double>, Var<double>>);
    STATIC_REQUIRE(train::Model<nn::Gpt<float>, IdTensor>);
    STATIC_REQUIRE(train::HasParameters<ParametersOnly>);
    STATIC_REQUIRE_FALSE(train::Model<ParametersOnly, Tensor<double>>);
}

TEST_CASE("training_forward: a model with a training flag gets it and the run's Rng", "[train][model]") {
    RecordsMode model;
    Tape<double> tape;
    Rng rng(1);
    train::training_forward(model, tape, zeros<double>({1}), rng);
    CHECK(model.saw_training);
    CHECK(model.saw_rng == &rng);
}
