// An error_code that says which host or proxy it is about. error_code has
// no room for text, yet "Host not found" alone does not tell an operator
// which of the endpoint, the IAM endpoint or the proxy is wrong. Callers
// keep treating the result as the original error: it compares equal to the
// same error conditions (e.g. boost::system::errc::permission_denied), and
// only message() is the full sentence.
#pragma once

#include <boost/system/error_code.hpp>
#include <string>

namespace hssjw {

// `ec` with `text` as its message. An error_code points at its category,
// so each distinct (text, ec) gets a category that lives until exit; the
// texts name configured hosts and proxy status lines, a small set, and
// past a few hundred of them `ec` comes back unchanged instead.
boost::system::error_code describe(boost::system::error_code ec, std::string text);

}  // namespace hssjw
