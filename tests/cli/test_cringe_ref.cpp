// The cringe-ref command (docs/transformer.md, "The cringe-ref model commands"): results, and exit status 2 with one line on
// stderr (naming the field or file) and nothing on stdout for every malformed input.
#include "../io/temp_dir.hpp"
#include "../support/testing.hpp"
#include "run_command.hpp"

#include <cringe/io/checkpoint.hpp>
#include "../../examples/oracle/loss_request.hpp"

using namespace cringe;
using cringe_test::run_command;

namespace {
const std::string ref = CRINGE_REF;

// TV2 of the spec (docs/losses.md, "Cross-implementation fixtures and the spec's test vectors"), k = 1.
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

TEST_CASE("cringe-ref: hostile requests: deep nesting, huge integers, unknown fields, non-finite results", "[cli][cringe-ref][errors][limits]") {
    auto says = [](const std::string& args, const std::string& input, const std::string& message) {
        expect_bad(args, input, message);
        CHECK(run_command(ref + " " + args, input).err == "cringe-ref: " + message + "\n");
    };
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    // 100,000 levels crashed with a stack overflow (copying the options, printing pad_id's value)
    says("loss", R"({"loss": "cringe", "options": {"k": )" + deep + "}}",
         "input: JSON nested deeper than 128 levels of arrays and objects; expected at most 128");
    says("loss", R"({"loss": "cringe", "pad_id": )" + deep + "}", "input: JSON nested deeper than 128 levels of arrays and objects; expected at most 128");
    // a long bad value is cut in the message (was the whole value: 200 KB on one line)
    auto j = tv2();
    j["pad_id"] = std::vector<int>(10000, 7);
    says("loss", j.dump(), "pad_id is [7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7...; expected an integer");

    // integers >= 2^63 were wrapped: label 2^64 - 1 became -1 (unlabeled), a target -1 (padding)
    j = tv2();
    j["labels"] = nlohmann::json::parse("[0, 18446744073709551615]");
    says("loss", j.dump(), "labels[1] is 18446744073709551615, out of range; expected an integer below 2^63");
    j = tv2();
    j["targets"][0][2] = nlohmann::json::parse("9223372036854775808");
    says("loss", j.dump(), "targets[0][2] is 9223372036854775808, out of range; expected an integer below 2^63");
    j = tv2();
    j["pad_id"] = nlohmann::json::parse("18446744073709551615");
    says("loss", j.dump(), "pad_id is 18446744073709551615, out of range; expected an integer below 2^63");
    j = tv2();
    j["loss"] = "pairwise_cringe";
    j["pairs"] = nlohmann::json::parse("[[18446744073709551615, 0]]");
    says("loss", j.dump(), "pairs[0][0] is 18446744073709551615, out of range; expected an integer below 2^63");
    j = tv2();
    j["options"]["k"] = nlohmann::json::parse("18446744073709551615");
    says("loss", j.dump(), "options.k is 18446744073709551615, out of range; expected an integer below 2^63");
    j = tv2();
    j["sampled"] = nlohmann::json::parse("[[18446744073709551615, -1, -1], [-1, -1, -1]]");
    says("loss", j.dump(), "sampled[0][0] is 18446744073709551615, out of range; expected an integer below 2^63");
    // the seed is a 64-bit unsigned integer: 2^64 - 1 is a valid seed, deterministic
    j = tv2();
    j["seed"] = nlohmann::json::parse("18446744073709551615");
    const auto max_seed = run_command(ref + " loss", j.dump());
    REQUIRE(max_seed.status == 0);
    CHECK(max_seed.out == run_command(ref + " loss", j.dump()).out);

    // unknown top-level fields were ignored, so a typo silently changed the result
    j = tv2();
    j["lables"] = j["labels"];
    says("loss", j.dump(), "unknown field \"lables\"; expected only dtype, labels, logits, loss, options, pad_id, pairs, sampled, seed, targets");
    j = tv2();
    j["Seed"] = 3;
    says("loss", j.dump(), "unknown field \"Seed\"; expected only dtype, labels, logits, loss, options, pad_id, pairs, sampled, seed, targets");

    // non-finite results were printed as null with status 0
    const std::string overflow = R"({"loss": "cross_entropy", "logits": [[[1e308, -1e308]]], "targets": [[1]], "labels": [1]})";
    says("loss", overflow, "the result: loss is inf; expected a finite number (JSON has no NaN or infinity)");
    // in float32, a logit or option beyond float's range is named (the conversion was undefined behaviour)
    j = nlohmann::json::parse(overflow);
    j["dtype"] = "float32";
    says("loss", j.dump(), "logits[0][0][0] is 1e+308, too large for float32; expected |x| <= 3.40282e+38");
    j = tv2();
    j["dtype"] = "float32";
    j["loss"] = "pairwise_cringe";
    j["pairs"] = {{1, 0}};
    j["options"] = {{"margin", -1e300}};
    says("loss", j.dump(), "options.margin is -1e+300, too large for float32; expected |x| <= 3.40282e+38");
    j["options"] = {{"margin", 1e30}};
    CHECK(run_command(ref + " loss", j.dump()).status == 0);  // large but representable

    // logits and grad: unknown fields and huge token ids
    cringe_test::TempDir tmp;
    { std::ofstream(tmp.path() / "config.json") << R"({"vocab_size": 13, "n_positions": 8, "n_embd": 8, "n_layer": 1, "n_head": 2})"; }
    const std::string dir = (tmp.path() / "model").string();
    REQUIRE(run_command(ref + " init --config '" + (tmp.path() / "config.json").string() + "' --seed 5 --out '" + dir + "'", "").status == 0);
    const std::string logits = "logits --model '" + dir + "'", grad = "grad --model '" + dir + "'";
    says(logits, R"({"tokens": [[1, 2]], "dtpye": "float32"})", "unknown field \"dtpye\"; expected only dtype, tokens");
    says(logits, R"([[1, 2]])", "the input is not a JSON object");
    says(logits, R"({"tokens": [[1, 18446744073709551615]]})", "tokens[0][1] is 18446744073709551615, out of range; expected an integer below 2^63");
    says(grad, R"({"loss": "cringe", "tokens": [[1, 2]], "targets": [[2, 3]], "labels": [1], "logits": [[[0, 1]]]})",
         "unknown field \"logits\"; expected only dtype, labels, loss, options, pad_id, pairs, sampled, seed, targets, tokens");
}

TEST_CASE("cringe-ref: a result that cannot be written is status 1 with a message", "[cli][cringe-ref][errors]") {
    if (!std::filesystem::exists("/dev/full")) return;  // Linux: writes fail with ENOSPC
    // before: the failed write was ignored and the status was 0
    const auto r = run_command("sh -c \"'" + ref + "' loss > /dev/full\"", tv2().dump());
    CHECK(r.status == 1);
    CHECK(r.err == "cringe-ref: cannot write the result to standard output: No space left on device\n");
    const auto help = run_command("sh -c \"'" + ref + "' --help > /dev/full\"", "");
    CHECK(help.status == 1);
}

TEST_CASE("cringe-ref: command-line numbers are strict, --help shows the defaults", "[cli][cringe-ref][errors]") {
    cringe_test::TempDir tmp;
    { std::ofstream(tmp.path() / "config.json") << R"({"vocab_size": 13, "n_positions": 8, "n_embd": 8, "n_layer": 1, "n_head": 2})"; }
    const std::string init = "init --config '" + (tmp.path() / "config.json").string() + "' --out '" + (tmp.path() / "model").string() + "' --seed ";
    const std::string range = "; expected a decimal integer in [0, 18446744073709551615]";
    // before: -5 wrapped to 2^64 - 5, 99999999999999999999 was clamped, 0x10 read as hex: all status 0
    for (const auto& [seed, message] : std::vector<std::pair<std::string, std::string>>{
             {"-5", "init --seed is \"-5\", not an integer" + range},
             {"99999999999999999999", "init --seed is 99999999999999999999, out of range" + range},
             {"18446744073709551616", "init --seed is 18446744073709551616, out of range" + range},
             {"0x10", "init --seed is \"0x10\", not an integer" + range},
             {"+7", "init --seed is \"+7\", not an integer" + range},
             {"' 7'", "init --seed is \" 7\", not an integer" + range},
             {"7.0", "init --seed is \"7.0\", not an integer" + range},
             {"''", "init --seed is \"\", not an integer" + range}}) {
        INFO("--seed " << seed);
        const auto r = run_command(ref + " " + init + seed, "");
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err == "cringe-ref: " + message + "\n");
    }
    CHECK(run_command(ref + " " + init + "18446744073709551615", "").status == 0);
    expect_bad("loss --in ''", "", "loss --in is empty; expected a file name or - for standard input");
    expect_bad("init --seed 1", "", "--config is required");
    // --help lists every default: the --in default and the request fields' defaults
    const auto top = run_command(ref + " --help", "");
    CHECK(top.status == 0);
    CHECK_THAT(top.out, Catch::Contains("dtype \"float64\", pad_id 0, seed 0") &&
                            Catch::Contains("options of cringe: alpha 1, k 5, detach_positive false, normalization \"joint\"") &&
                            Catch::Contains("options of unlikelihood: alpha 1, clamp 1e-20") &&
                            Catch::Contains("options of pairwise_cringe: alpha 1, k 5, margin 0, tau 1, detach_gate true") &&
                            Catch::Contains("options of sigmoid_only: a_pm 1, a_m 1") && Catch::Contains("Exit status"));
    const auto loss_help = run_command(ref + " loss --help", "");
    CHECK_THAT(loss_help.out, Catch::Contains("--in TEXT=-"));
    const auto init_help = run_command(ref + " init --help", "");
    CHECK_THAT(init_help.out, Catch::Contains("--seed UINT REQUIRED") && Catch::Contains("[0, 2^64 - 1]"));
}
