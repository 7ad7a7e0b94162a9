// The walker: one walk of one scope. Asks the walk planner which pages to
// fetch, fetches several at once through the request gate (budget, slots,
// fairness) and a transport, retries as walk/page_retry.hpp decides,
// decodes each page and hands the
// planner the identities it needs to check the pages link up.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "hss/http.hpp"
#include "hss/resource.hpp"
#include "state/scope_state.hpp"
#include "walk/differ.hpp"

namespace spdlog {
class logger;
}

namespace hssjw {

class https_client;
class authenticator;
class request_gate;
class walk_observer;

struct walk_target {
  scope_id scope;
  std::map<std::string, std::string> filters;  // server-side filters
  const resource_def* resource = nullptr;
};

struct walk_settings {
  std::uint32_t page_size = 200;
  std::uint32_t pages_in_flight = 4;
  config::retry_config retry;
  bool trust_last_update_time = false;
  std::uint32_t full_walk_every = 10;
  std::vector<std::string> ignore_fields;
};

enum class walk_status {
  complete,    // every page linked: removals may be inferred
  incomplete,  // saw jobs, but could not prove coverage (or rejected jobs)
  unchanged,   // first page matched the last complete walk (trusted)
  failed,      // a page could not be fetched: nothing may be concluded
};

struct walk_outcome {
  walk_status status = walk_status::failed;
  walk_observation observation;  // jobs seen, total, last_update_time
  std::string reason;            // why incomplete / failed
  std::optional<api_error> api;  // the API error behind a failure
  std::uint32_t requests = 0;
  std::uint32_t repairs = 0;
  std::size_t rejected = 0;
};

class walker {
 public:
  // How the walker reaches HSS: sends one request and returns the answer
  // (any status) or a transport error (connection, TLS, timeout as
  // errc::timeout, operation_aborted when cancelled), like
  // https_client::async_request. Tests script pages and errors in memory.
  struct transport {
    std::function<boost::asio::awaitable<result<http_response>>(http_request)> send;
    std::string host;  // the Host header the requests carry (AK/SK signs it)
  };
  // The transport of the daemon: `client`, which must outlive the walker.
  static transport https_transport(https_client& client);

  walker(transport t, authenticator& auth, request_gate& gate, std::shared_ptr<spdlog::logger> log);
  // Through https_transport(client).
  walker(https_client& client, authenticator& auth, request_gate& gate,
         std::shared_ptr<spdlog::logger> log);

  // Requests, pages and retries are reported here (metrics); may be null.
  void set_observer(walk_observer* observer) { observer_ = observer; }

  // Throws system_error(operation_aborted) when cancelled.
  // `previous` is the scope's state as of the last commit; it must outlive
  // the walk, which begins a walk number on it and marks the snapshot
  // entries it finds unchanged (nothing else of it changes). Those jobs
  // come back as a count, without key or body (nothing needs one), which
  // keeps a steady walk's memory small.
  boost::asio::awaitable<walk_outcome> async_walk(walk_target target, walk_settings settings,
                                                  scope_state& previous);

 private:
  struct page_result;
  struct walk_run;
  boost::asio::awaitable<page_result> async_fetch(walk_run& run, std::int64_t offset);
  boost::asio::awaitable<std::vector<page_result>> async_fetch_batch(
      walk_run& run, std::vector<std::int64_t> offsets);

  transport transport_;
  authenticator& auth_;
  request_gate& gate_;
  std::shared_ptr<spdlog::logger> log_;
  walk_observer* observer_ = nullptr;
  std::mt19937_64 rng_{std::random_device{}()};  // the backoff jitter (page_retry's draws)
};

// Whether a walk whose first page says (total, last_update_time) may stop
// there under poll.trust_last_update_time.
bool may_trust_first_page(const walk_settings& s, const scope_meta& previous, std::int64_t total,
                          std::optional<std::int64_t> last_update_time);

}  // namespace hssjw
