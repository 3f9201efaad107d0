// cringe-ref - the library's reference semantics as a JSON-in, JSON-out command (docs/transformer.md, "The cringe-ref model commands"; docs/losses.md for `loss`).
//
//   cringe-ref loss   [--in FILE]                        loss value, d loss/d logits, sampled ids
//   cringe-ref init   --config C.json --seed N --out DIR  a fresh GPT in the Hugging Face layout
//   cringe-ref logits --model DIR [--in FILE]             logits for {"tokens": [[...]]}
//   cringe-ref grad   --model DIR [--in FILE]             loss and every parameter's gradient
// Bad input: exit status 2, nothing on stdout, one line on stderr naming the field or file. That
// includes a result that is not finite (JSON cannot represent NaN or infinity). A result that cannot
// be written to stdout (a full disk, a closed pipe): exit status 1 and a message.
// The command line is parsed by cringe_ref_cli.hpp (shared with its fuzz harness).
#include "cringe_ref_cli.hpp"

#include <cringe/cringe.hpp>
#include <cringe/io/io.hpp>  // load_pretrained, save_pretrained, the JSON helpers
#include "loss_request.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

using namespace cringe;
using nlohmann::json;

namespace {

json tensor_to_json(const auto& t) {
    const auto& shape = t.shape();
    std::function<json(std::size_t, std::size_t)> nest = [&](std::size_t axis, std::size_t offset) -> json {
        json out = json::array();
        std::size_t stride = 1;
        for (std::size_t a = axis + 1; a < shape.size(); ++a) stride *= shape[a];
        for (std::size_t i = 0; i < shape[axis]; ++i) {
            if (axis + 1 == shape.size()) out.push_back(static_cast<double>(t.data()[offset + i]));
            else out.push_back(nest(axis + 1, offset + i * stride));
        }
        return out;
    };
    if (shape.empty()) return static_cast<double>(t.data()[0]);
    return nest(0, 0);
}

/// The most bytes cringe-ref reads from standard input: 1 GiB, a request of about 50 million
/// logits. Its parsed form takes several times that in memory (docs/errors.md, "Resource limits").
constexpr std::size_t max_stdin_bytes = std::size_t{1} << 30;

json read_input(const std::string& path) {
    if (path.empty() || path == "-")
        return io::parse_json(io::read_stream_bounded(std::cin, max_stdin_bytes, "input: standard input"), "input");
    return io::read_json_file(path, "input");
}

IdTensor token_rows(const json& j, const char* field, std::size_t n_positions) {
    if (!j.contains(field)) throw ValueError(cat("missing field \"", field, "\""));
    const json& rows = j.at(field);
    if (!rows.is_array() || rows.empty() || !rows[0].is_array() || rows[0].empty())
        throw ValueError(cat(field, " is not a non-empty [B][T] array of token ids"));
    const std::size_t B = rows.size(), T = rows[0].size();
    if (T > n_positions) throw ValueError(cat(field, "[0] has length ", T, "; the model's n_positions is ", n_positions));
    IdTensor out = IdTensor::from_shape({B, T});
    for (std::size_t b = 0; b < B; ++b) {
        if (!rows[b].is_array() || rows[b].size() != T)
            throw ValueError(cat(field, "[", b, "] has length ", rows[b].is_array() ? rows[b].size() : 0, ", ", field, "[0] has ", T));
        for (std::size_t t = 0; t < T; ++t) {
            out(b, t) = oracle::detail::as_integer(rows[b][t], cat(field, "[", b, "][", t, "]"));  // never wraps
        }
    }
    return out;
}

std::string dtype_of_request(const json& j) {
    if (!j.contains("dtype")) return "float64";
    if (j["dtype"] != "float64" && j["dtype"] != "float32") throw ValueError(cat("dtype is ", io::json_excerpt(j["dtype"]), "; expected \"float64\" or \"float32\""));
    return j["dtype"].get<std::string>();
}

template <class T>
json run_logits(const std::string& model_dir, const json& request) {
    auto model = io::load_pretrained<T>(model_dir);
    const IdTensor tokens = token_rows(request, "tokens", model.config().n_positions);
    Tape<T> tape;
    auto guard = tape.no_grad();
    return json{{"logits", tensor_to_json(model.forward(tape, tokens).value())}};
}

template <class T>
json run_grad(const std::string& model_dir, const json& request) {
    auto model = io::load_pretrained<T>(model_dir);
    const IdTensor tokens = token_rows(request, "tokens", model.config().n_positions);
    const auto r = oracle::parse_loss_request(request, /*with_logits=*/false);
    if (r.targets.shape() != tokens.shape())
        throw ValueError(cat("targets have shape ", shape_str(r.targets.shape()), " but tokens have ", shape_str(tokens.shape()), "; expected equal shapes"));
    const auto V = static_cast<std::int64_t>(model.config().vocab_size);
    for (std::size_t i = 0; i < r.targets.size(); ++i)
        if (r.targets.data()[i] != r.pad_id && r.targets.data()[i] >= V)
            throw ValueError(cat("targets[", i / tokens.shape()[1], "][", i % tokens.shape()[1], "] is ", r.targets.data()[i], "; expected < vocab_size = ", V));
    if (r.sampled)
        for (std::size_t i = 0; i < r.sampled->size(); ++i)
            if (r.sampled->data()[i] >= V)
                throw ValueError(cat("sampled[", i / tokens.shape()[1], "][", i % tokens.shape()[1], "] is ", r.sampled->data()[i],
                                     "; expected < vocab_size = ", V));
    return oracle::with_policy<T>(r, [&](const auto& policy) {
        policy.validate_options();
        Tape<T> tape;
        auto logits = model.forward(tape, tokens);
        Rng rng(r.seed);
        auto out = policy(logits, loss::Batch{r.targets, r.labels, r.pad_id, r.pairs}, loss::Sampler{&rng, r.sampled ? &*r.sampled : nullptr});
        tape.backward(out.loss);
        json grads = json::object();
        for (const auto& p : model.parameters()) grads[p.name] = tensor_to_json(p.grad);
        json sampled = json::array();
        for (std::size_t b = 0; b < tokens.shape()[0]; ++b) {
            json row = json::array();
            for (std::size_t t = 0; t < tokens.shape()[1]; ++t) row.push_back(out.diagnostics.sampled(b, t));
            sampled.push_back(row);
        }
        return json{{"loss", static_cast<double>(out.loss.value()())}, {"sampled", sampled}, {"grads", grads}};
    });
}

}  // namespace

int main(int argc, char** argv) {
    // A closed pipe on stdout must be a write error with a message (below), not a silent SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    cringe_ref::CommandLine cl;
    try {
        cl = cringe_ref::parse_command_line(argc, argv);
    } catch (const CLI::ParseError& e) {
        std::cerr << "cringe-ref: " << e.what() << " (see cringe-ref --help)\n";
        return 2;
    } catch (const cringe::Error& e) {
        std::cerr << "cringe-ref: " << e.what() << "\n";
        return 2;
    }
    if (!cl.help.empty()) {
        std::cout << cl.help << (cl.help.back() == '\n' ? "" : "\n") << std::flush;
        return std::cout ? 0 : 1;
    }
    const std::string& in_path = cl.in_path;
    const std::string& model_dir = cl.model_dir;
    try {
        json result;
        if (cl.command == "loss") {
            const auto request = oracle::parse_loss_request(read_input(in_path));
            result = request.dtype == "float32" ? oracle::evaluate_loss_request<float>(request) : oracle::evaluate_loss_request<double>(request);
        } else if (cl.command == "init") {
            const auto config = io::gpt_config_from_json(io::read_json_file(cl.config_path, "cringe-ref init --config"), cat("cringe-ref init: ", cl.config_path));
            io::save_pretrained(nn::Gpt<float>(config, cl.seed), cl.out_dir);
            result = json{{"out", cl.out_dir}, {"parameters", config.parameter_count()}};
        } else if (cl.command == "logits") {
            const json request = read_input(in_path);
            if (!request.is_object()) throw ValueError("the input is not a JSON object");
            oracle::detail::require_known_fields(request, {"tokens", "dtype"});
            result = dtype_of_request(request) == "float32" ? run_logits<float>(model_dir, request) : run_logits<double>(model_dir, request);
        } else {
            const json request = read_input(in_path);
            if (!request.is_object()) throw ValueError("the input is not a JSON object");
            result = dtype_of_request(request) == "float32" ? run_grad<float>(model_dir, request) : run_grad<double>(model_dir, request);
        }
        io::require_finite_numbers(result, "the result");  // dump() would print NaN and infinity as null
        const std::string text = result.dump() + "\n";
        errno = 0;
        std::cout << text << std::flush;
        if (!std::cout) {
            std::cerr << "cringe-ref: cannot write the result to standard output"
                      << (errno ? cat(": ", std::strerror(errno)) : std::string()) << "\n";
            return 1;
        }
        return 0;
    } catch (const cringe::Error& e) {
        std::string message = e.what();
        for (char& c : message)
            if (c == '\n') c = ' ';
        std::cerr << "cringe-ref: " << message << "\n";
        return 2;
    } catch (const nlohmann::json::exception& e) {
        std::cerr << "cringe-ref: input: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {  // e.g. std::bad_alloc for an absurd size: still no crash
        std::cerr << "cringe-ref: " << e.what() << "\n";
        return 2;
    }
}
