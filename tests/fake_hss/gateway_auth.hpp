// What the fake's API gateway and IAM know about credentials: IAM users and
// the project-scoped tokens issued to them (POST /v3/auth/tokens,
// HUAWEI-API.md §3), access keys with the gateway's lock-out after repeated
// signature failures (§2.2), and the check of one API request under the
// server's auth mode. Plain state, no I/O and no lock: fake_hss::server
// owns one and guards it; times are passed in, so tests and the server can
// skew the fake's clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "fake_hss/aksk_verify.hpp"
#include "fake_hss/protocol.hpp"

namespace fake_hss {

// Which credentials the jobs API accepts.
enum class auth_mode {
  token,  // X-Auth-Token equal to the configured static token (the default)
  iam,    // X-Auth-Token issued by the fake IAM for the request's project, unexpired
  aksk,   // an SDK-HMAC-SHA256 signature by a known access key
  any,    // whichever of the three the request carries, each checked as above
};
std::string_view to_string(auth_mode m);

struct issued_token {
  std::string token;
  std::string project_id;
  std::string domain;
  std::string user;
  std::chrono::system_clock::time_point issued_at;   // on the fake's clock
  std::chrono::system_clock::time_point expires_at;  // on the fake's clock
};

// One answer of the fake IAM.
struct iam_reply {
  unsigned status = 201;
  std::string subject_token;  // X-Subject-Token on 201
  std::string body;
};

class gateway_auth {
 public:
  using wall = std::chrono::system_clock;
  using steady = std::chrono::steady_clock;

  struct settings {
    std::chrono::seconds token_lifetime{std::chrono::hours(24)};
    std::size_t token_size = 2048;  // real tokens are several KB
    std::chrono::seconds signature_window{std::chrono::minutes(15)};
    unsigned lock_after = 5;  // signature failures in a row
    std::chrono::seconds lock_for{std::chrono::minutes(5)};
  };

  gateway_auth();
  settings& config() { return settings_; }

  // --- IAM ---
  void add_iam_user(std::string domain, std::string user, std::string password);
  // The body of POST /v3/auth/tokens -> 201 with a token, or IAM's error.
  iam_reply login(std::string_view body, bool with_catalog, wall::time_point now);
  void expire_tokens(wall::time_point now);  // every issued token, now
  const std::vector<issued_token>& issued() const { return issued_; }

  // --- AK/SK ---
  void add_access_key(std::string ak, std::string sk);
  std::size_t signature_failures(const std::string& ak) const;  // all so far
  bool locked(const std::string& ak, steady::time_point now) const;

  // The gateway's decision on one jobs API request: nothing = let it through.
  std::optional<error_reply> check(auth_mode mode, const std::string& static_token,
                                   const aksk::request& r, const std::string& project_id,
                                   wall::time_point now, steady::time_point steady_now);

 private:
  struct access_key {
    std::string sk;
    unsigned failures_in_a_row = 0;
    std::size_t failures = 0;
    steady::time_point locked_until{};
  };

  std::optional<error_reply> check_token(const std::string& token, const std::string& project_id,
                                         wall::time_point now) const;
  std::optional<error_reply> check_aksk(const aksk::request& r, const std::string& project_id,
                                        wall::time_point now, steady::time_point steady_now);
  error_reply signature_failed(access_key& key, error_reply e, steady::time_point now);
  std::string new_token();

  settings settings_;
  std::map<std::pair<std::string, std::string>, std::string> users_;  // (domain, user) -> password
  std::vector<issued_token> issued_;
  std::map<std::string, std::size_t> by_token_;  // token -> index in issued_
  std::map<std::string, access_key> keys_;
  std::mt19937_64 random_;
};

// "2020-01-04T09:05:22.701000Z", as IAM writes expires_at and issued_at.
std::string iam_time(std::chrono::system_clock::time_point t);
// "Sun, 06 Nov 1994 08:49:37 GMT", the Date header.
std::string http_date(std::chrono::system_clock::time_point t);

}  // namespace fake_hss
