// The config schema as a table (SPEC §6, docs/CONFIG.md): one row per key
// with its path, its rule (type, range or check, and where the value goes
// in the config struct), its default and one line of doc. The loader
// validates by it, render_effective writes the effective config by it,
// and the tests take the key set from it (config/example.yaml must show
// every key, docs/CONFIG.md every default).
//
// Rows come in the order the keys are rendered and listed in "unknown key
// (allowed: ...)" messages. Rules that span keys (required keys, the
// endpoint defaults, retry.max >= retry.initial, the cap of
// pages_in_flight) are code in loader.cpp: no one row owns them.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "config/values.hpp"

namespace hssjw::config::schema {

// Where a key's value lives in its owner (the config, or one project): a
// chain of members, as `at<&config::poll, &poll_config::interval>`.
template <class Owner, class T>
struct slot {
  T& (*ref)(Owner&);
  const T& (*get)(const Owner&);
};

namespace detail {
template <class Member>
struct member_of;
template <class C, class T>
struct member_of<T C::*> {
  using owner = C;
};
template <auto First, auto... Rest>
struct chain {
  using owner = typename member_of<decltype(First)>::owner;
  // clang-format off
  static auto& ref(owner& o) { return ((o .* First) .* ... .* Rest); }
  static const auto& get(const owner& o) { return ((o .* First) .* ... .* Rest); }
  // clang-format on
  using type = std::remove_reference_t<decltype(ref(std::declval<owner&>()))>;
};
}  // namespace detail

template <auto... Members>
inline constexpr slot<typename detail::chain<Members...>::owner,
                      typename detail::chain<Members...>::type>
    at{&detail::chain<Members...>::ref, &detail::chain<Members...>::get};

// A rule beyond a type's own: accepts a value (maybe normalised) or says
// what is wrong with it (errc::config_invalid, no position: the loader
// adds file:line:col and the key path).
using check = result<std::string> (*)(std::string value);

// ---------------------------------------------------------------------------
// The rules, one per kind of value.

// A mapping of further keys: the rows below it. `~` or nothing under it
// means all their defaults. Rendered on one line when `flow`.
struct section {
  bool flow = false;
};

// A non-empty string without control characters.
template <class O>
struct text {
  slot<O, std::string> to;
  bool optional = false;                             // `~` = unset (""), rendered back as ~
  check then = nullptr;                              // on a set value, after the checks above
  std::string (*shown)(std::string_view) = nullptr;  // redaction for --check-config
};

// A file or directory, resolved against the directory of the config file.
template <class O>
struct path {
  slot<O, std::string> to;
  bool optional = false;           // `~` = unset
  bool refuse_credential = false;  // "credential:NAME" is for secret files, not this
  check then = nullptr;            // on the resolved path
};

// A secret file: "credential:NAME" (kept as written) or a path (resolved).
// Optional: which ones are required depends on auth.method.
template <class O>
struct secret_file {
  slot<O, std::string> to;
};

// true or false, unquoted (True, FALSE too).
template <class O>
struct flag {
  slot<O, bool> to;
};

// A decimal integer, unquoted, in [min, max].
template <class O, class Int>
struct integer {
  slot<O, Int> to;
  std::int64_t min, max;
};

// A duration such as 30s, in [min, max].
template <class O>
struct timespan {
  slot<O, duration> to;
  duration min, max;
};

// A percentage such as 10%, in [0, max] (as a fraction).
template <class O>
struct percent {
  slot<O, double> to;
  double max;
};

// A request rate: N/s, N/min or unlimited.
template <class O>
struct rate_limit {
  slot<O, rate> to;
};

// An octal file mode, quoted or not, at most 0777; rendered quoted.
template <class O>
struct octal_mode {
  slot<O, std::uint32_t> to;
};

// One of a few names; the first is what an unknown value renders as.
template <class O, class T>
struct choice {
  slot<O, T> to;
  std::type_identity_t<std::span<const std::pair<std::string_view, T>>> names;
};

// A list of strings, without duplicates; rendered on one line.
template <class O>
struct text_list {
  slot<O, std::vector<std::string>> to;
  bool empty_items = false;        // "" allowed as an item
  check item = nullptr;            // on each item
  std::string_view if_empty = {};  // set: an empty list is refused with this
};

// A mapping whose keys are the rows below it (each a map_entry), kept as
// a map; rendered on one line, the keys given in sorted order.
template <class O>
struct text_map {
  slot<O, std::map<std::string, std::string>> to;
};
struct map_entry {};  // a key of the text_map above: a non-empty string

// The projects: a non-empty list of mappings with the keys of
// project_keys(), ids unique.
template <class O>
struct project_list {
  slot<O, std::vector<project_config>> to;
};

template <class O>
using rule =
    std::variant<section, text<O>, path<O>, secret_file<O>, flag<O>, integer<O, std::uint32_t>,
                 integer<O, std::uint64_t>, timespan<O>, percent<O>, rate_limit<O>, octal_mode<O>,
                 choice<O, auth_method>, choice<O, log_target>, choice<O, log_format>,
                 choice<O, std::string>, text_list<O>, text_map<O>, map_entry, project_list<O>>;

// ---------------------------------------------------------------------------
// The table.

template <class O>
struct key {
  std::string_view path;  // "poll.retry.max"; keys of a list item: "projects[].id"
  rule<O> is;
  // The value an absent key gives, written as docs/CONFIG.md and
  // config/example.yaml write it ("60s", "~"); "" when there is none to
  // write (a section, a required key, a default derived from other keys:
  // the doc says which). The struct's initial values are the defaults;
  // the tests hold the two equal.
  std::string_view default_value;
  std::string_view doc;
};

// The keys of the config; the projects' own keys are in project_keys().
std::span<const key<config>> config_keys();
// The keys of one item of `projects`.
std::span<const key<project_config>> project_keys();

// "poll.retry.max" -> "max"; "projects[].id" -> "id".
constexpr std::string_view name_of(std::string_view path) {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}
// "poll.retry.max" -> "poll.retry"; "projects[].id" -> "projects[]"; "region" -> "".
constexpr std::string_view parent_of(std::string_view path) {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

}  // namespace hssjw::config::schema
