// cringe/loss/registry.hpp - every loss policy by name, and every option by name: the one list.
//
// AnyPolicy<T> is a std::variant of the policies; each policy lists its own options in
// option_table() (name and member). Everything that maps a name to a loss reads them from here:
// cringe-ref's JSON requests (examples/oracle/loss_request.hpp), the reproduction's methods
// (examples/repro/experiment.hpp) and the error messages that list the allowed names. Adding a
// loss means: its header (with option_table()), one line in AnyPolicy below, one include in
// losses.hpp (docs/losses.md, "Write your own policy").
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "losses.hpp"

namespace cringe::loss {

/// Every loss policy in scalar type T; the order is the order of policy_names().
template <class T>
using AnyPolicy = std::variant<CrossEntropy<T>, Unlikelihood<T>, Cringe<T>, PairwiseCringe<T>, SigmoidOnly<T>>;

namespace detail {
template <class T, std::size_t... I>
std::vector<std::string_view> names_of(std::index_sequence<I...>) {
    return {std::string_view(std::variant_alternative_t<I, AnyPolicy<T>>::name)...};
}
}  // namespace detail

/// The names of every policy, in AnyPolicy's order: cross_entropy, unlikelihood, cringe, ...
inline std::vector<std::string_view> policy_names() {
    return detail::names_of<double>(std::make_index_sequence<std::variant_size_v<AnyPolicy<double>>>{});
}

/// "a, b or c" of `names`, each wrapped in `quote` (for "expected one of ..." messages).
inline std::string name_list(const std::vector<std::string_view>& names, std::string_view quote = "", std::string_view last = ", ") {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out += i + 1 == names.size() ? std::string(last) : std::string(", ");
        out += cat(quote, names[i], quote);
    }
    return out;
}

/// The policy named `name` with its default options; ValueError listing the names otherwise.
template <class T>
AnyPolicy<T> make_policy(std::string_view name) {
    std::optional<AnyPolicy<T>> found;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((name == std::variant_alternative_t<I, AnyPolicy<T>>::name ? (void)found.emplace(std::in_place_index<I>) : (void)0), ...);
    }(std::make_index_sequence<std::variant_size_v<AnyPolicy<T>>>{});
    if (!found) throw ValueError(cat("make_policy: unknown loss \"", name, "\"; expected one of ", name_list(policy_names())));
    return *found;
}

/// Calls f(name, field) for every option of `policy`, in its option_table() order, with `field`
/// a reference to the member (double, long, bool or an enum with a choices() overload).
template <class P, class F>
void for_each_option(P& policy, F&& f) {
    std::apply([&](const auto&... option) { (f(option.name, policy.*(option.member)), ...); }, P::option_table());
}

/// The names of the options of every policy (a name may belong to several).
inline std::set<std::string_view> all_option_names() {
    std::set<std::string_view> names;
    AnyPolicy<double> policy;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (for_each_option(policy.template emplace<I>(), [&](std::string_view name, auto&) { names.insert(name); }), ...);
    }(std::make_index_sequence<std::variant_size_v<AnyPolicy<double>>>{});
    return names;
}

/// The enum value named `text` among choices(E{}); ValueError naming `where` and the choices otherwise.
template <class E>
E choice_named(std::string_view text, const std::string& where) {
    std::vector<std::string_view> names;
    for (const auto& [label, value] : choices(E{})) {
        if (label == text) return value;
        names.push_back(label);
    }
    throw ValueError(cat(where, " is \"", text, "\"; expected ", name_list(names, "\"", " or ")));
}

/// The name of an enum option's value (for help texts and records).
template <class E>
std::string_view choice_name(E value) {
    for (const auto& [label, choice] : choices(E{}))
        if (choice == value) return label;
    return "?";
}

}  // namespace cringe::loss
