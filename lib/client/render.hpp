// How hss-jobwatch prints what the socket sends: one readable line per
// event, and tables for list and status. Pure functions over parsed lines.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

namespace hssjw::cli {

// "2026-11-28T10:40:00.123Z #1042 modified glz-2451/kube-system/cceaddon-npd (p1/all_granted_eps)
// status=Running pods=6 changed=pods_num,status"
std::string event_text(const boost::json::object& event);
// "existing glz-2451/kube-system/cceaddon-npd (p1/-) status=Running pods=6"
std::string existing_text(const boost::json::object& existing);
// A table of existing lines, sorted by scope and key; `wide` adds the
// image, the execute time and the match labels.
std::string list_table(std::vector<boost::json::object> existing, bool wide = false);
// The daemon line, a rejected reload's config error (if any), then one
// row per scope; `wide` adds the filters as a column and the watch times
// to the millisecond.
std::string status_table(const boost::json::object& status, bool wide = false);

}  // namespace hssjw::cli
