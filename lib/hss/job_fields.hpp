// Field-level helpers over a job's JSON object, shared by the decoder and
// the differ: the order-independent fingerprint, label sorting, and the
// list of top-level fields that differ between two versions.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hssjw {

// Sorts match_labels entries by key, then val (labels are a set).
void sort_labels(boost::json::array& labels);

// A 64-bit fingerprint over every top-level field not in `ignore`,
// independent of field order.
std::uint64_t fingerprint(const boost::json::object& job, const std::vector<std::string>& ignore);

// Every top-level field whose value differs (present in one only, or
// different), sorted by name.
std::vector<std::string> changed_fields(const boost::json::object& before,
                                        const boost::json::object& after);

}  // namespace hssjw
