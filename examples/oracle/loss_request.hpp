// examples/oracle/loss_request.hpp - the JSON form of a loss evaluation (docs/losses.md, "`cringe-ref loss`: the request format").
//
// parse_loss_request validates every field and throws cringe::ValueError whose message names the
// field ("targets[1] has length 4, logits[1] has 3 positions"); evaluate_loss_request runs the chosen
// policy in float64 or float32 and returns {"loss", "grad", "sampled", "n_supervised"}.
// The cross-implementation tests and the cringe-ref command both go through these two functions.
//
// Strictness, so that a mistake in a request is an error rather than a silently different result:
//   - a top-level field that is not one of the request's (a typo such as "lables") is an error;
//   - an integer outside the 64-bit signed range (JSON allows any) is an error, never wrapped: a
//     label of 2^64 - 1 would otherwise become -1, "unlabeled";
//   - in float32, a logit or option too large for float is an error (the conversion would be
//     undefined behaviour);
//   - a result that is not finite (NaN or infinity, which JSON cannot represent) is an error
//     naming the first such field: see require_finite_result.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <algorithm>
#include <set>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <string>

#include <nlohmann/json.hpp>

#include <cringe/loss/registry.hpp>
#include <cringe/io/json_file.hpp>

namespace oracle {
using namespace cringe;      // the policies, errors and tensors
using namespace cringe::io;  // parse_json, the JSON limits

/// A parsed cringe-ref loss request.
struct LossRequest {
    /// The loss name ("cringe", "unlikelihood", ...).
    std::string loss;
    /// The loss's options, as given.
    nlohmann::json options = nlohmann::json::object();
    /// The padding id of the targets.
    std::int64_t pad_id = 0;
    /// Logits [B,T,V] (absent for cringe-ref grad).
    Tensor<double> logits;              // [B,T,V] (absent for `cringe-ref grad`)
    /// Next-token targets [B,T].
    IdTensor targets;                   // [B,T]
    /// Sequence labels [B].
    std::vector<int> labels;            // [B]
    /// Chosen/rejected row pairs (pairwise CRINGE).
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    /// Injected CRINGE positives [B,T], if given.
    std::optional<IdTensor> sampled;    // injected positives
    /// The sampler's seed.
    std::uint64_t seed = 0;
    /// "float64" or "float32".
    std::string dtype = "float64";
};

namespace detail {

[[noreturn]] inline void bad(const std::string& message) { throw ValueError(message); }

inline const nlohmann::json& require_field(const nlohmann::json& j, const char* key) {
    if (!j.contains(key)) bad(cat("missing field \"", key, "\""));
    return j.at(key);
}

/// The field names a request may have, for the message of an unknown one: "a, b, c".
inline std::string field_list(const std::set<std::string>& names) {
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
    return out;
}

/// Every key of the object `j` must be in `allowed`: a misspelt field would otherwise be ignored.
inline void require_known_fields(const nlohmann::json& j, const std::set<std::string>& allowed) {
    for (const auto& [key, value] : j.items())
        if (!allowed.count(key)) bad(cat("unknown field \"", key, "\"; expected only ", field_list(allowed)));
}

/// A JSON integer as int64. nlohmann keeps integers >= 2^63 as unsigned; get<int64_t> would wrap
/// them (2^64 - 1 -> -1), so they are rejected here, naming the field.
inline std::int64_t as_integer(const nlohmann::json& v, const std::string& where) {
    if (!v.is_number_integer()) bad(cat(where, " is ", json_excerpt(v), "; expected an integer"));
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        bad(cat(where, " is ", v.get<std::uint64_t>(), ", out of range; expected an integer below 2^63"));
    return v.get<std::int64_t>();
}

inline double as_number(const nlohmann::json& v, const std::string& where) {
    if (!v.is_number()) bad(cat(where, " is ", json_excerpt(v), "; expected a number"));
    return v.get<double>();
}

/// `x` converted to T (float or double); a double outside float's range is an error naming the
/// field (the conversion would be undefined behaviour, not infinity).
template <class T>
T to_dtype(double x, const std::string& where) {
    if constexpr (std::is_same_v<T, float>)
        if (std::abs(x) > static_cast<double>(std::numeric_limits<float>::max()))
            bad(cat(where, " is ", x, ", too large for float32; expected |x| <= ", std::numeric_limits<float>::max()));
    return static_cast<T>(x);
}

/// A [rows][cols] integer array with every row of length `cols` (or any equal length when cols = 0).
inline IdTensor integer_matrix(const nlohmann::json& v, const std::string& name, std::size_t rows, std::size_t cols,
                               const std::string& cols_source) {
    if (!v.is_array()) bad(cat(name, " is not an array; expected [B][T] integers"));
    if (v.size() != rows) bad(cat(name, " has ", v.size(), " rows; expected ", rows, " (B)"));
    IdTensor out = IdTensor::from_shape({rows, cols});
    for (std::size_t b = 0; b < rows; ++b) {
        const auto& row = v[b];
        if (!row.is_array()) bad(cat(name, "[", b, "] is not an array"));
        if (row.size() != cols) bad(cat(name, "[", b, "] has length ", row.size(), ", ", cols_source, " has ", cols, " positions"));
        for (std::size_t t = 0; t < cols; ++t) out(b, t) = as_integer(row[t], cat(name, "[", b, "][", t, "]"));
    }
    return out;
}

}  // namespace detail

/// Validates and converts a request; `with_logits` is false for `cringe-ref grad`, whose logits
/// come from the model (then targets fix B and T).
inline LossRequest parse_loss_request(const nlohmann::json& j, bool with_logits = true) {
    using detail::bad;
    if (!j.is_object()) bad("the input is not a JSON object");
    // `cringe-ref loss` takes the logits; `cringe-ref grad` takes the model's input tokens instead.
    std::set<std::string> allowed = {"loss", "options", "dtype", "pad_id", "seed", "targets", "labels", "pairs", "sampled"};
    allowed.insert(with_logits ? "logits" : "tokens");
    detail::require_known_fields(j, allowed);
    LossRequest r;
    const auto& loss = detail::require_field(j, "loss");
    const std::vector<std::string_view> known = loss::policy_names();  // the registry's list
    if (!loss.is_string()) bad(cat("loss is not a string; expected one of ", loss::name_list(known)));
    r.loss = loss.get<std::string>();
    if (std::find(known.begin(), known.end(), r.loss) == known.end())
        bad(cat("loss is \"", r.loss, "\"; expected one of ", loss::name_list(known)));
    if (j.contains("options")) {
        if (!j["options"].is_object()) bad("options is not an object");
        r.options = j["options"];
    }
    if (j.contains("dtype")) {
        if (!j["dtype"].is_string() || (j["dtype"] != "float64" && j["dtype"] != "float32"))
            bad(cat("dtype is ", json_excerpt(j["dtype"]), "; expected \"float64\" or \"float32\""));
        r.dtype = j["dtype"].get<std::string>();
    }
    if (j.contains("pad_id")) r.pad_id = detail::as_integer(j["pad_id"], "pad_id");
    if (j.contains("seed")) {  // any 64-bit unsigned integer, the Rng's seed type
        const auto& seed = j["seed"];
        if (seed.is_number_unsigned()) {  // how the parser stores every integer >= 0, up to 2^64 - 1
            r.seed = seed.get<std::uint64_t>();
        } else {
            const auto s = detail::as_integer(seed, "seed");  // not an integer: an error
            if (s < 0) bad(cat("seed is ", s, "; expected a non-negative integer"));
            r.seed = static_cast<std::uint64_t>(s);
        }
    }

    std::size_t B = 0, T = 0, V = 0;
    if (with_logits) {
        const auto& logits = detail::require_field(j, "logits");
        if (!logits.is_array() || logits.empty()) bad("logits is not a non-empty array; expected [B][T][V] numbers");
        B = logits.size();
        for (std::size_t b = 0; b < B; ++b) {
            const auto& seq = logits[b];
            if (!seq.is_array()) bad(cat("logits[", b, "] is not an array; expected [T][V] numbers"));
            if (b == 0) T = seq.size();
            if (seq.size() != T) bad(cat("logits[", b, "] has ", seq.size(), " positions, logits[0] has ", T));
            for (std::size_t t = 0; t < T; ++t) {
                if (!seq[t].is_array()) bad(cat("logits[", b, "][", t, "] is not an array; expected V numbers"));
                if (b == 0 && t == 0) V = seq[t].size();
                if (seq[t].size() != V) bad(cat("logits[", b, "][", t, "] has ", seq[t].size(), " entries, logits[0][0] has ", V));
            }
        }
        if (T == 0) bad("logits[0] has 0 positions; expected T >= 1");
        if (V < 2) bad(cat("logits[0][0] has ", V, " entries; expected V >= 2"));
        r.logits = Tensor<double>::from_shape({B, T, V});
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t t = 0; t < T; ++t)
                for (std::size_t v = 0; v < V; ++v)
                    r.logits(b, t, v) = detail::as_number(logits[b][t][v], cat("logits[", b, "][", t, "][", v, "]"));
        r.targets = detail::integer_matrix(detail::require_field(j, "targets"), "targets", B, T, cat("logits[", 0, "]"));
    } else {
        const auto& targets = detail::require_field(j, "targets");
        if (!targets.is_array() || targets.empty() || !targets[0].is_array())
            bad("targets is not a non-empty [B][T] array of integers");
        B = targets.size();
        T = targets[0].size();
        r.targets = detail::integer_matrix(targets, "targets", B, T, "targets[0]");
    }
    // For the tokens, V is checked against the model later; here only against the logits.
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t t = 0; t < T; ++t) {
            const auto y = r.targets(b, t);
            if (y == r.pad_id) continue;
            if (y < 0 || (with_logits && static_cast<std::size_t>(y) >= V))
                bad(cat("targets[", b, "][", t, "] is ", y, "; expected 0 <= id < V", with_logits ? cat(" = ", V) : std::string(), " or pad_id ", r.pad_id));
        }

    const auto& labels = detail::require_field(j, "labels");
    if (!labels.is_array()) bad("labels is not an array; expected B values in {-1, 0, 1}");
    if (labels.size() != B) bad(cat("labels has ", labels.size(), " entries; expected one per sequence (B = ", B, ")"));
    for (std::size_t b = 0; b < B; ++b) {
        const auto label = detail::as_integer(labels[b], cat("labels[", b, "]"));
        if (label < -1 || label > 1) bad(cat("labels[", b, "] is ", label, "; expected -1 (unlabeled), 0 (negative) or 1 (positive)"));
        r.labels.push_back(static_cast<int>(label));
    }

    if (r.loss == "pairwise_cringe") {
        const auto& pairs = detail::require_field(j, "pairs");
        if (!pairs.is_array()) bad("pairs is not an array; expected [[chosen_row, rejected_row], ...]");
        for (std::size_t k = 0; k < pairs.size(); ++k) {
            if (!pairs[k].is_array() || pairs[k].size() != 2) bad(cat("pairs[", k, "] is not a [chosen_row, rejected_row] pair"));
            const auto a = detail::as_integer(pairs[k][0], cat("pairs[", k, "][0]"));
            const auto b = detail::as_integer(pairs[k][1], cat("pairs[", k, "][1]"));
            if (a < 0 || b < 0 || static_cast<std::size_t>(a) >= B || static_cast<std::size_t>(b) >= B)
                bad(cat("pairs[", k, "] = [", a, ",", b, "] names a row outside the batch; expected 0 <= row < B = ", B));
            r.pairs.emplace_back(static_cast<std::size_t>(a), static_cast<std::size_t>(b));
        }
    }
    if (j.contains("sampled") && !j["sampled"].is_null()) {
        r.sampled = detail::integer_matrix(j["sampled"], "sampled", B, T, "targets[0]");
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t t = 0; t < T; ++t) {
                const auto id = (*r.sampled)(b, t);
                if (id < -1 || (with_logits && id >= static_cast<std::int64_t>(V)))
                    bad(cat("sampled[", b, "][", t, "] is ", id, "; expected -1 or 0 <= id < V"));
            }
    }
    return r;
}

/// Builds the policy named by the request with its options and calls f(policy). The names and
/// options come from the registry (cringe/loss/registry.hpp); this function only reads JSON.
/// Unknown option names are an error; options that belong to another policy are ignored.
template <class T, class F>
auto with_policy(const LossRequest& r, F&& f) {
    using detail::bad;
    static const std::set<std::string_view> all_options = loss::all_option_names();
    for (const auto& [key, value] : r.options.items())
        if (!all_options.count(key)) bad(cat("options.", key, " is not an option of any loss"));
    // One reader per kind of option member.
    auto read = [&](std::string_view name, auto& field) {
        const std::string key(name);
        if (!r.options.contains(key)) return;
        const auto& v = r.options[key];
        const std::string where = cat("options.", key);
        using Field = std::remove_cvref_t<decltype(field)>;
        if constexpr (std::is_same_v<Field, bool>) {
            if (!v.is_boolean()) bad(cat(where, " is ", json_excerpt(v), "; expected true or false"));
            field = v.get<bool>();
        } else if constexpr (std::is_same_v<Field, double>) {
            field = detail::as_number(v, where);
            (void)detail::to_dtype<T>(field, where);  // the policy computes with T(x)
        } else if constexpr (std::is_integral_v<Field>) {
            field = static_cast<Field>(detail::as_integer(v, where));
        } else {  // an enum: one of its choices' names
            std::vector<std::string_view> names;
            for (const auto& [label, choice] : choices(Field{})) {
                if (v.is_string() && v.get<std::string>() == label) {
                    field = choice;
                    return;
                }
                names.push_back(label);
            }
            bad(cat(where, " is ", json_excerpt(v), "; expected ", loss::name_list(names, "\"", " or ")));
        }
    };
    auto policy = loss::make_policy<T>(r.loss);
    return std::visit([&](auto& p) {
        loss::for_each_option(p, read);
        return f(std::as_const(p));
    }, policy);
}

namespace detail {
/// The [B,T,V] logits in T; in float32 a logit beyond float's range is an error naming it.
template <class T>
Tensor<T> logits_as(const Tensor<double>& logits) {
    if constexpr (std::is_same_v<T, float>) {
        const auto& sh = logits.shape();
        for (std::size_t i = 0; i < logits.size(); ++i)
            if (std::abs(logits.data()[i]) > static_cast<double>(std::numeric_limits<float>::max()))
                (void)to_dtype<float>(logits.data()[i], cat("logits[", i / (sh[1] * sh[2]), "][", i / sh[2] % sh[1], "][", i % sh[2], "]"));
    }
    return tensor_cast<T>(logits);
}
}  // namespace detail

/// Evaluates the loss on the request's logits; result as the oracle prints it. Its numbers may be
/// NaN or infinite (huge logits); require_finite_numbers (json_file.hpp) checks before printing.
template <class T>
nlohmann::json evaluate_loss_request(const LossRequest& r) {
    return with_policy<T>(r, [&](const auto& policy) {
        policy.validate_options();
        Tape<T> tape;
        auto logits = tape.variable(detail::logits_as<T>(r.logits));
        loss::Batch batch{r.targets, r.labels, r.pad_id, r.pairs};
        Rng rng(r.seed);
        loss::Sampler sampler{&rng, r.sampled ? &*r.sampled : nullptr};
        auto out = policy(logits, batch, sampler);
        tape.backward(out.loss);
        nlohmann::json result;
        result["loss"] = static_cast<double>(out.loss.value()());
        const auto& g = logits.grad();
        const auto& sh = g.shape();
        nlohmann::json grad = nlohmann::json::array();
        for (std::size_t b = 0; b < sh[0]; ++b) {
            nlohmann::json seq = nlohmann::json::array();
            for (std::size_t t = 0; t < sh[1]; ++t) {
                nlohmann::json row = nlohmann::json::array();
                for (std::size_t v = 0; v < sh[2]; ++v) row.push_back(static_cast<double>(g(b, t, v)));
                seq.push_back(std::move(row));
            }
            grad.push_back(std::move(seq));
        }
        result["grad"] = std::move(grad);
        nlohmann::json sampled = nlohmann::json::array();
        for (std::size_t b = 0; b < sh[0]; ++b) {
            nlohmann::json row = nlohmann::json::array();
            for (std::size_t t = 0; t < sh[1]; ++t) row.push_back(out.diagnostics.sampled(b, t));
            sampled.push_back(std::move(row));
        }
        result["sampled"] = std::move(sampled);
        result["n_supervised"] = out.diagnostics.n_supervised;
        return result;
    });
}

}  // namespace oracle
