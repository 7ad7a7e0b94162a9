// The fake Huawei Cloud HSS server: `GET /v5/{project_id}/kubernetes/jobs`
// over HTTPS on 127.0.0.1, faithful to SPEC §2 and HUAWEI-API.md §1.1/§2,
// with a mutable inventory, fault injection, a request log and churn, and
// the credentials side of the cloud: an IAM token endpoint
// (`POST /v3/auth/tokens` on the same server) and AK/SK verification with
// the gateway's lock-out (gateway_auth.hpp). The
// integration tests drive it in-process; `hss-fake` (main.cpp) runs it for
// the demo. docs/FAKE_HSS.md describes the behaviour in prose.
//
// Threading: the server runs its own io_context on its own thread; every
// public member is thread-safe. Hooks and the auth check run on the server
// thread without the server's lock held, so they may call back into it.
//
// Quick tour:
//   fake_hss::server srv;                         // listening, CA written
//   srv.populate("p1", "0", 450);                 // 450 synthetic jobs
//   srv.inject(fault::throttled(2s).on_offset(200));
//   ... point a client at srv.endpoint() trusting srv.ca_file() ...
//   EXPECT_EQ(srv.requests().size(), 4);
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fake_hss/churn.hpp"
#include "fake_hss/faults.hpp"
#include "fake_hss/gateway_auth.hpp"
#include "fake_hss/inventory.hpp"
#include "fake_hss/protocol.hpp"

namespace fake_hss {

// One request as received, for assertions and for the auth check.
struct request_record {
  std::size_t index = 0;       // 0, 1, 2, ... in arrival order, over all connections
  std::size_t connection = 0;  // 0, 1, 2, ... per accepted TCP connection
  std::string method;
  std::string target;  // as sent: path + "?" + raw query
  std::string path;
  std::map<std::string, std::string> query;    // percent-decoded
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string project_id;          // jobs requests only
  unsigned status = 0;             // the status line sent; 0 = no answer (stall, reset) or not yet
  std::string request_id;          // the X-Request-Id header sent back
  std::vector<fault_kind> faults;  // faults that applied, in injection order
};
using request_view = request_record;

class server {
 public:
  struct options {
    std::uint16_t port = 0;  // 0 = ephemeral
    // ca.pem (+ server.pem, server-key.pem) are written here; "" = a fresh
    // temporary directory, removed when the server is destroyed.
    std::string state_dir;
    std::string token = "test-token";  // the X-Auth-Token accepted (auth_mode::token, any)
    bool accept_any_auth = false;      // skip every auth check
    // What the jobs API accepts (gateway_auth.hpp); IAM logins are served
    // in every mode.
    auth_mode auth = auth_mode::token;
    std::chrono::seconds token_lifetime{std::chrono::hours(24)};  // IAM tokens
    std::chrono::milliseconds latency{0};
    std::chrono::seconds idle_timeout{60};  // keep-alive connections idle longer are closed
    // Records kept by requests(): past this many the oldest half is dropped
    // (a long demo must not grow without bound). 0 = keep all.
    std::size_t request_log_limit = 0;
    // Serve 200 pages that no fault touches from a cache of rendered bodies,
    // reused while the page holds the very same jobs (same total and
    // last_update_time): benchmarks, so a million-job walk measures the
    // client, not the fake's JSON rendering. Costs a copy of every page
    // body served (~0.42 KB per job per distinct page boundary).
    bool prerender = false;
    // One line per request and per churn step, on the server thread.
    std::function<void(std::string_view)> log;
  };

  // Generates the CA and certificate, writes ca.pem, listens, starts the
  // thread. Throws on failure (port in use, unwritable state_dir).
  explicit server(options o);
  server();
  ~server();  // stops the thread; open connections are dropped
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  std::uint16_t port() const;
  std::string ca_file() const;  // PEM of the CA to trust (tls.ca_file)
  std::string state_dir() const;
  std::string endpoint() const;  // "https://localhost:<port>"

  // --- inventory (see inventory.hpp for ordering and stamping rules) ---
  bool upsert(job j);
  void upsert_many(std::vector<job> jobs);
  bool erase(std::string_view project_id, std::string_view eps, std::string_view cluster,
             std::string_view ns, std::string_view name);
  void clear();
  std::vector<job> jobs(std::string_view project_id,
                        std::string_view eps = default_eps) const;  // listing order
  std::size_t size() const;
  std::int64_t last_update_time(std::string_view project_id,
                                std::string_view eps = default_eps) const;
  // Adds synthetic_jobs(project, eps, n, seed) (churn.hpp).
  void populate(const std::string& project_id, const std::string& eps, std::size_t n,
                std::uint64_t seed = 1);

  // --- hooks ---
  // Called for every jobs request (path matched, GET) after it is logged
  // and before faults apply and the page is computed, so it can change the
  // inventory between and during walks. Replaces any previous hook; an
  // empty function removes it.
  using request_hook = std::function<void(const request_record&)>;
  void on_request(request_hook hook);

  // --- faults (faults.hpp) ---
  void inject(fault f);
  void clear_faults();
  std::size_t pending_faults() const;

  // --- request log ---
  std::vector<request_record> requests() const;
  void clear_requests();  // indexes keep counting

  // --- auth ---
  // Returns the error to send, or nothing to let the request through.
  using auth_check = std::function<std::optional<error_reply>(const request_view&)>;
  void set_token(std::string token);
  // Replaces the X-Auth-Token check; an empty function restores it.
  void set_auth_check(auth_check check);
  void set_accept_any_auth(bool any);

  // --- TLS ---
  // A new CA and server certificate, as after a CA renewal: connections
  // accepted from now on present the new certificate; ca_file() then holds
  // the new CA. Established connections keep their session.
  void rotate_ca();

  void set_auth_mode(auth_mode mode);

  // --- IAM: POST /v3/auth/tokens (password, project scope) ---
  // Not subject to faults, hooks or latency: IAM is another service. Use
  // set_iam_down for its failures.
  void add_iam_user(std::string domain, std::string user, std::string password);
  void set_token_lifetime(std::chrono::seconds lifetime);  // for tokens issued from now on
  void expire_tokens();          // every token issued so far expires now (-> APIGW.0307)
  void set_iam_down(bool down);  // logins answer 503 APIGW.0613
  std::vector<issued_token> issued_tokens() const;  // successful logins, in order
  std::size_t login_attempts() const;               // every POST /v3/auth/tokens, also refused ones

  // --- AK/SK: SDK-HMAC-SHA256 verified by aksk_verify.hpp ---
  void add_access_key(std::string ak, std::string sk);
  // Lock an access key for `lock_for` after `after` signature failures in
  // a row (default 5 and 5 minutes, as the gateway does).
  void set_aksk_lockout(unsigned after, std::chrono::seconds lock_for);
  std::size_t signature_failures(const std::string& ak) const;  // bad or stale, all so far
  bool access_key_locked(const std::string& ak) const;

  // --- the fake's clock ---
  // The fake's wall clock runs `offset` ahead of this host's (negative:
  // behind): the Date header, X-Sdk-Date checks and token expiry use it.
  void set_clock_offset(std::chrono::seconds offset);
  std::chrono::system_clock::time_point now() const;

  void set_latency(std::chrono::milliseconds latency);  // before every response

  // --- churn (churn.hpp) ---
  void start_churn(churn_options o);  // every o.interval on the server thread
  void stop_churn();
  // One churn step now (with the running churner's generator, or a fresh
  // one seeded with o.seed); returns what changed.
  std::vector<churn_change> churn_step(churn_options o = {});

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace fake_hss
