// The cringe-ref command (shared spec oracle.md): results, and exit status 2 with one line on
// stderr (naming the field or file) and nothing on stdout for every malformed input.
#include "../io/temp_dir.hpp"
#include "../support/testing.hpp"
#include "run_command.hpp"

#include <cringe/io/checkpoint.hpp>
#include <cringe/io/loss_request.hpp>

using namespace cringe;
using cringe_test::run_command;

namespace {
const std::string ref = CRINGE_REF;

// TV2 of the spec (losses.md section 8), k = 1.
nlohmann::json tv2() {
    return nlohmann::json::parse(R"({"loss": "cringe", "options": {"k": 1}, "pad_id": 0,
      "logits": [[[0,1,2,3,0.5],[0,2,1,-1,0],[0,0,0,0,0]], [[0,1,0,0,0],[0.5,0.5,0.5,0.5,0.5],[0,0,2,1,0]]],
      "targets": [[3,2,0],[1,4,2]], "labels": [0,1], "seed": 7})");
}

void expect_bad(const std::string& args, const std::string& input, const std::string& fragment) {
    INFO("cringe-ref " << args << " with input " << input.substr(0, 200));
    const auto r = run_command(ref + " " + args, input);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_THAT(r.err, Catch::StartsWith("cringe-ref: ") && Catch::Contains(fragment));
}
}  // namespace

TEST_CASE("cringe-ref loss: the spec's TV2 and float32", "[cli][cringe-ref]") {
    const auto r = run_command(ref + " loss", tv2().dump());
    REQUIRE(r.status == 0);
    const auto out = nlohmann::json::parse(r.out);
    CHECK(out["loss"].get<double>() == Approx(0.942793).margin(1e-6));
    CHECK(out["n_supervised"] == 5);
    CHECK(out["sampled"] == nlohmann::json::parse("[[2,1,-1],[-1,-1,-1]]"));
    CHECK(out["grad"][0][0][3].get<double>() == Approx(0.146212).margin(1e-6));
    auto f32 = tv2();
    f32["dtype"] = "float32";
    const auto r32 = run_command(ref + " loss", f32.dump());
    REQUIRE(r32.status == 0);
    CHECK(nlohmann::json::parse(r32.out)["loss"].get<double>() == Approx(0.942793).margin(1e-5));
    // the same seed gives the same sampled ids (k = 5: a real draw)
    auto k5 = tv2();
    k5["options"]["k"] = 5;
    CHECK(nlohmann::json::parse(run_command(ref + " loss", k5.dump()).out)["sampled"] ==
          nlohmann::json::parse(run_command(ref + " loss", k5.dump()).out)["sampled"]);
}

TEST_CASE("cringe-ref loss: every malformed input is exit 2 naming the field", "[cli][cringe-ref][errors]") {
    expect_bad("loss", "{not json", "not valid JSON");
    expect_bad("loss", "[1,2]", "not a JSON object");
    auto j = tv2();
    j.erase("targets");
    expect_bad("loss", j.dump(), "missing field \"targets\"");
    j = tv2();
    j["logits"][1].erase(2);
    expect_bad("loss", j.dump(), "logits[1] has 2 positions");
    j = tv2();
    j["logits"][0][1].erase(4);
    expect_bad("loss", j.dump(), "logits[0][1] has 4 entries");
    j = tv2();
    j["targets"][1] = {1, 4, 2, 2};
    expect_bad("loss", j.dump(), "targets[1] has length 4, logits[0] has 3 positions");
    j = tv2();
    j["targets"][0][1] = 9;
    expect_bad("loss", j.dump(), "targets[0][1] is 9");
    j = tv2();
    j["labels"] = {0, 3};
    expect_bad("loss", j.dump(), "labels[1] is 3");
    j = tv2();
    j["labels"] = {0};
    expect_bad("loss", j.dump(), "labels has 1 entries");
    j = tv2();
    j["options"]["k"] = 0;
    expect_bad("loss", j.dump(), "k is 0");
    j = tv2();
    j["options"]["alpha"] = -1;
    expect_bad("loss", j.dump(), "alpha is -1");
    j = tv2();
    j["options"]["bogus"] = 1;
    expect_bad("loss", j.dump(), "options.bogus");
    j = tv2();
    j["loss"] = "focal";
    expect_bad("loss", j.dump(), "loss is \"focal\"");
    j = tv2();
    j["logits"][0][0][0] = "x";
    expect_bad("loss", j.dump(), "logits[0][0][0]");
    j = tv2();
    j["dtype"] = "float16";
    expect_bad("loss", j.dump(), "dtype");
    j = tv2();
    j["loss"] = "pairwise_cringe";
    expect_bad("loss", j.dump(), "missing field \"pairs\"");
    j["pairs"] = {{0, 5}};
    expect_bad("loss", j.dump(), "pairs[0]");
    j = tv2();
    j["sampled"] = {{9, -1, -1}, {-1, -1, -1}};
    expect_bad("loss", j.dump(), "sampled[0][0] is 9");
    expect_bad("loss --in /nonexistent/file.json", "", "/nonexistent/file.json");
    expect_bad("frobnicate", "", "");
}

TEST_CASE("cringe-ref init, logits, grad: agree with the library in process", "[cli][cringe-ref]") {
    cringe_test::TempDir tmp;
    { std::ofstream(tmp.path() / "config.json") << R"({"vocab_size": 13, "n_positions": 8, "n_embd": 8, "n_layer": 2, "n_head": 2})"; }
    const std::string dir = (tmp.path() / "model").string();
    const auto init = run_command(ref + " init --config '" + (tmp.path() / "config.json").string() + "' --seed 5 --out '" + dir + "'", "");
    REQUIRE(init.status == 0);
    auto model = io::load_pretrained<double>(dir);
    const auto logits = run_command(ref + " logits --model '" + dir + "'", R"({"tokens": [[1,2,3],[4,5,6]]})");
    REQUIRE(logits.status == 0);
    Tape<double> tape;
    const auto expected = model.forward(tape, testing::ids({{1, 2, 3}, {4, 5, 6}})).value();
    CHECK(nlohmann::json::parse(logits.out)["logits"][1][2][7].get<double>() == Approx(expected(1, 2, 7)).epsilon(1e-12));
    const auto grad = run_command(ref + " grad --model '" + dir + "'",
                                  R"({"loss": "cringe", "tokens": [[1,2,3],[4,5,6]], "targets": [[2,3,0],[5,6,7]], "labels": [1,0], "seed": 3})");
    REQUIRE(grad.status == 0);
    const auto g = nlohmann::json::parse(grad.out);
    CHECK(g["grads"].size() == model.parameters().size());
    CHECK(g["grads"].contains("transformer.h.1.mlp.c_fc.weight"));
    // same loss in process (same seed, so the same sampled positives)
    Tape<double> t2;
    Rng rng(3);
    const auto out = loss::Cringe<double>{}(model.forward(t2, testing::ids({{1, 2, 3}, {4, 5, 6}})),
                                            loss::Batch{testing::ids({{2, 3, 0}, {5, 6, 7}}), {1, 0}, 0, {}}, loss::Sampler{&rng, nullptr});
    CHECK(g["loss"].get<double>() == Approx(out.loss.value()()).epsilon(1e-12));
    // errors: bad tokens, too long, missing or corrupt model
    expect_bad("logits --model '" + dir + "'", R"({"tokens": [[1,2,99]]})", "token id 99");
    expect_bad("logits --model '" + dir + "'", R"({"tokens": [[1,2,3,4,5,6,7,8,9]]})", "n_positions");
    expect_bad("logits --model '" + dir + "'", R"({"tokens": [[1,2],[3]]})", "tokens[1] has length 1");
    expect_bad("grad --model '" + dir + "'", R"({"loss": "cringe", "tokens": [[1,2,3]], "targets": [[2,3]], "labels": [1]})", "targets have shape");
    expect_bad("logits --model /nonexistent", R"({"tokens": [[1]]})", "/nonexistent");
    { std::ofstream(std::filesystem::path(dir) / "model.safetensors") << "garbage"; }
    expect_bad("logits --model '" + dir + "'", R"({"tokens": [[1]]})", "model.safetensors");
    expect_bad("init --config /nonexistent.json --seed 1 --out '" + dir + "'", "", "/nonexistent.json");
}

TEST_CASE("cringe-ref: repeated keys, wrong types, T = 0, V = 1, option types, tokens, ids and --help", "[cli][cringe-ref][errors]") {
    // loss errors (docs/errors.md, cringe-ref rows): each one whole message after "cringe-ref: "
    auto says = [](const std::string& args, const std::string& input, const std::string& message) {
        expect_bad(args, input, message);
        const auto r = run_command(ref + " " + args, input);
        CHECK(r.err == "cringe-ref: " + message + "\n");
    };
    says("loss", R"({"loss": "cringe", "logits": [[[0, 1]]], "loss": "unlikelihood"})", "input: key 'loss' appears twice in one JSON object");
    auto j = tv2();
    j["options"] = 5;
    says("loss", j.dump(), "options is not an object");
    j = tv2();
    j["pad_id"] = "0";
    says("loss", j.dump(), "pad_id is \"0\"; expected an integer");
    j = tv2();
    j["seed"] = -1;
    says("loss", j.dump(), "seed is -1; expected a non-negative integer");
    j = tv2();
    j["seed"] = 1.5;
    says("loss", j.dump(), "seed is 1.5; expected an integer");
    says("loss", R"({"loss": "cringe", "logits": [[]], "targets": [[]], "labels": [0]})", "logits[0] has 0 positions; expected T >= 1");
    says("loss", R"({"loss": "cringe", "logits": [[[0.5]]], "targets": [[0]], "labels": [0]})", "logits[0][0] has 1 entries; expected V >= 2");
    j = tv2();
    j["options"]["k"] = 1.5;
    says("loss", j.dump(), "options.k is 1.5; expected an integer");
    j = tv2();
    j["options"]["alpha"] = "1";
    says("loss", j.dump(), "options.alpha is \"1\"; expected a number");
    j = tv2();
    j["options"]["detach_positive"] = 1;
    says("loss", j.dump(), "options.detach_positive is 1; expected true or false");
    j = tv2();
    j["options"]["normalization"] = "x";
    says("loss", j.dump(), "options.normalization is \"x\"; expected \"joint\" or \"separate\"");
    j = tv2();
    j["loss"] = "pairwise_cringe";
    j["pairs"] = {{1, 0}};
    j["options"] = {{"loglik", "x"}};
    says("loss", j.dump(), "options.loglik is \"x\"; expected \"sum\" or \"mean\"");
    j["options"] = {{"loglik", "mean"}};
    CHECK(run_command(ref + " loss", j.dump()).status == 0);  // the same request with a valid option runs

    // model errors: tokens, and ids checked against the model's vocabulary
    cringe_test::TempDir tmp;
    { std::ofstream(tmp.path() / "config.json") << R"({"vocab_size": 13, "n_positions": 8, "n_embd": 8, "n_layer": 1, "n_head": 2})"; }
    const std::string dir = (tmp.path() / "model").string();
    REQUIRE(run_command(ref + " init --config '" + (tmp.path() / "config.json").string() + "' --seed 5 --out '" + dir + "'", "").status == 0);
    const std::string logits = "logits --model '" + dir + "'", grad = "grad --model '" + dir + "'";
    says(logits, R"({"dtype": "float64"})", "missing field \"tokens\"");
    says(grad, R"({"loss": "cringe", "targets": [[1]], "labels": [1]})", "missing field \"tokens\"");
    says(logits, R"({"tokens": []})", "tokens is not a non-empty [B][T] array of token ids");
    says(logits, R"({"tokens": [[]]})", "tokens is not a non-empty [B][T] array of token ids");
    says(logits, R"({"tokens": [1, 2]})", "tokens is not a non-empty [B][T] array of token ids");
    says(logits, R"({"tokens": [[1, 1.5]]})", "tokens[0][1] is 1.5; expected an integer");
    says(logits, R"({"tokens": [[1, "2"]]})", "tokens[0][1] is \"2\"; expected an integer");
    says(grad, R"({"loss": "cringe", "tokens": [[1, 2, 3]], "targets": [[2, 3, 13]], "labels": [1]})",
         "targets[0][2] is 13; expected < vocab_size = 13");
    says(grad, R"({"loss": "cringe", "tokens": [[1, 2, 3]], "targets": [[2, 3, 4]], "labels": [0], "sampled": [[-1, 13, -1]]})",
         "sampled[0][1] is 13; expected < vocab_size = 13");
    const auto ok = run_command(ref + " " + grad, R"({"loss": "cringe", "tokens": [[1, 2, 3]], "targets": [[2, 3, 4]], "labels": [0], "sampled": [[-1, 12, -1]]})");
    REQUIRE(ok.status == 0);
    CHECK(nlohmann::json::parse(ok.out)["sampled"][0][1] == 12);  // the injected positive was used

    // --help: status 0, the usage on standard output, nothing on standard error
    for (const std::string args : {"--help", "loss --help", "grad --help"}) {
        INFO("cringe-ref " << args);
        const auto help = run_command(ref + " " + args, "");
        CHECK(help.status == 0);
        CHECK_THAT(help.out, Catch::Contains("Usage:") && Catch::Contains("--help"));
        CHECK(help.err.empty());
    }
    const auto top = run_command(ref + " --help", "");
    CHECK_THAT(top.out, Catch::Contains("loss") && Catch::Contains("init") && Catch::Contains("logits") && Catch::Contains("grad"));
    expect_bad("", "", "A subcommand is required");  // no subcommand is a command-line error, status 2
}
