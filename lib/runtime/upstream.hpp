// The HTTPS client, authenticator and walker of one config: what a walk
// talks to HSS through. Every walk holds the bundle it started with
// (shared ownership), so a reload that replaces it frees the old one (its
// TLS context and pooled connections) when the last walk that uses it
// ends, and never before.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/error.hpp"
#include "hss/client.hpp"
#include "walk/walker.hpp"

namespace spdlog {
class logger;
}

namespace hssjw {

class authenticator;
class request_gate;
class walk_observer;

// What identifies the content of the CA file a client was built with: a
// file replaced at the same path (a renewed CA) has another identity, so
// a reload rebuilds the client even though tls.ca_file did not change.
struct file_identity {
  std::string content;  // CA bundles are small; "" when none or unreadable
  bool operator==(const file_identity&) const = default;
};

file_identity identity_of(const std::string& path);

// Declaration order: the walker refers to the client and the authenticator.
struct upstream {
  std::unique_ptr<https_client> client;
  std::unique_ptr<authenticator> auth;
  std::unique_ptr<walker> walk;
  file_identity ca;

  upstream();
  ~upstream();
};

// The bundle of `c`, or the authenticator's error when a secret file the
// config names cannot be used. The walker passes `gate` and reports to
// `observer` (may be null).
result<std::shared_ptr<upstream>> make_upstream(const config::config& c,
                                                boost::asio::any_io_executor ex, request_gate& gate,
                                                walk_observer* observer,
                                                std::shared_ptr<spdlog::logger> log);

}  // namespace hssjw
