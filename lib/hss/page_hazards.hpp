// What Boost.JSON 1.81 accepts silently but the daemon must not: duplicated
// object keys (the DOM keeps the last one, another reader may keep the
// first, so a job's identity or status would be ambiguous) and numbers too
// large for a double (parsed as infinity, which serialises as `Infinity`,
// not JSON: the stored body could not be read back). One SAX pass over a
// list page finds them, per list item, so the decoder can reject exactly
// the affected jobs; the same pass builds the page's DOM (parse_page).
#pragma once

#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace hssjw {

struct page_hazards {
  std::string root;                          // a duplicated top-level key ("" = none)
  std::map<std::size_t, std::string> items;  // list index -> the first hazard inside it
};

// Scans `body` (a complete JSON text; nothing is reported when it does not
// parse: the DOM parse reports that). `list_field` names the top-level
// array whose items are judged one by one.
page_hazards find_page_hazards(std::string_view body, std::string_view list_field,
                               std::size_t max_depth);

// Parses `body` into a DOM built on `dom` (reset it onto the page's arena
// first) and finds the hazards in the same pass. On a parse error, `ec`
// is set and the result is null.
boost::json::value parse_page(std::string_view body, std::string_view list_field,
                              std::size_t max_depth, boost::json::value_stack& dom,
                              page_hazards& hazards, boost::system::error_code& ec);

}  // namespace hssjw
