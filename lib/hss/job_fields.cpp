// Fingerprints, label order and field comparison for job objects.
#include "hss/job_fields.hpp"

#include <algorithm>
#include <bit>
#include <functional>
#include <string_view>

#include "core/hash.hpp"

namespace hssjw {

namespace json = boost::json;

namespace {

std::string_view str_or_empty(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

std::uint64_t hash_value(const json::value& v);

// Arrays and objects are hashed from their parts, not from serialize():
// that cost a string per job (match_labels) for the same information.
// Arrays keep their order (labels are sorted before this); nested objects
// hash as a sum like the top level, so member order does not matter, as
// it does not for json::value's operator== (changed_fields).
std::uint64_t hash_array(const json::array& a) {
  std::uint64_t h = 0xa0761d6478bd642fULL ^ a.size();
  for (const auto& item : a) h = mix64(h * 0x9E3779B97F4A7C15ULL + hash_value(item));
  return h;
}

std::uint64_t hash_object(const json::object& o) {
  std::hash<std::string_view> h;
  std::uint64_t sum = 0xe7037ed1a0b428dbULL ^ o.size();
  for (const auto& member : o)
    sum += mix64(h(member.key()) * 0x9E3779B97F4A7C15ULL ^ hash_value(member.value()));
  return mix64(sum);
}

std::uint64_t hash_value(const json::value& v) {
  std::hash<std::string_view> h;
  switch (v.kind()) {
    case json::kind::string:
      return h(v.get_string()) ^ 0x5bd1e995ULL;
    case json::kind::int64:
      return mix64(static_cast<std::uint64_t>(v.get_int64()));
    case json::kind::uint64:
      return mix64(v.get_uint64() ^ 0x1234567ULL);
    case json::kind::double_:
      return mix64(std::bit_cast<std::uint64_t>(v.get_double()) ^ 0x8a5cd789635d2dffULL);
    case json::kind::bool_:
      return v.get_bool() ? 0x77ULL : 0x78ULL;
    case json::kind::null:
      return 0x79ULL;
    case json::kind::array:
      return hash_array(v.get_array());
    case json::kind::object:
      return hash_object(v.get_object());
  }
  return 0x7aULL;
}

}  // namespace

void sort_labels(json::array& labels) {
  std::sort(labels.begin(), labels.end(), [](const json::value& a, const json::value& b) {
    const auto& ao = a.get_object();
    const auto& bo = b.get_object();
    auto ak = str_or_empty(ao, "key"), bk = str_or_empty(bo, "key");
    if (ak != bk) return ak < bk;
    return str_or_empty(ao, "val") < str_or_empty(bo, "val");
  });
}

std::uint64_t field_name_hash(std::string_view name) { return std::hash<std::string_view>()(name); }

std::uint64_t fingerprint_share(std::uint64_t name_hash, const json::value& value) {
  return mix64(name_hash * 0x9E3779B97F4A7C15ULL ^ hash_value(value));
}

std::uint64_t fingerprint_share(const json::key_value_pair& field) {
  return fingerprint_share(field_name_hash(field.key()), field.value());
}

std::uint64_t fingerprint(const json::object& job, const std::vector<std::string>& ignore) {
  std::uint64_t sum = 0;
  for (const auto& member : job) {
    if (std::find(ignore.begin(), ignore.end(), member.key()) != ignore.end()) continue;
    sum += fingerprint_share(member);
  }
  return sum;
}

std::vector<std::string> changed_fields(const json::object& before, const json::object& after) {
  std::vector<std::string> out;
  for (const auto& m : before) {
    auto* other = after.if_contains(m.key());
    if (!other || *other != m.value()) out.emplace_back(m.key());
  }
  for (const auto& m : after) {
    if (!before.contains(m.key())) out.emplace_back(m.key());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hssjw
