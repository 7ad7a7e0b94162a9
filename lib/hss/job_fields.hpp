// Field-level helpers over a job's JSON object, shared by the decoder and
// the differ: the order-independent fingerprint, label sorting, and the
// list of top-level fields that differ between two versions.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hssjw {

// Sorts match_labels entries by key, then val (labels are a set).
void sort_labels(boost::json::array& labels);

// A 64-bit fingerprint over every top-level field not in `ignore`,
// independent of field order.
std::uint64_t fingerprint(const boost::json::object& job, const std::vector<std::string>& ignore);

// One field's share of that fingerprint (the fingerprint is the sum of
// the shares of the fields not ignored), for a caller already walking
// the fields.
std::uint64_t fingerprint_share(const boost::json::key_value_pair& field);
// The same, with the hash of the field's name computed once beforehand.
std::uint64_t fingerprint_share(std::uint64_t name_hash, const boost::json::value& value);
std::uint64_t field_name_hash(std::string_view name);

// Every top-level field whose value differs (present in one only, or
// different), sorted by name.
std::vector<std::string> changed_fields(const boost::json::object& before,
                                        const boost::json::object& after);

}  // namespace hssjw
