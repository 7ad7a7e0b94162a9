// The fake gateway's and IAM's credential rules (see gateway_auth.hpp).
// Messages follow the gateway's error table (HUAWEI-API.md §2.2) and IAM's
// nested error body (§2.1 form 3).
#include "fake_hss/gateway_auth.hpp"

#include <boost/json.hpp>
#include <cstdio>

namespace fake_hss {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// IAM's own error shape: {"error":{"code":401,"message":...,"title":...}}.
iam_reply iam_error(unsigned status, std::string_view message, std::string_view title) {
  json::object inner{{"code", status}, {"message", message}, {"title", title}};
  return {status, {}, json::serialize(json::object{{"error", std::move(inner)}})};
}

iam_reply wrong_password() {
  return iam_error(401, "The username or password is wrong.", "Unauthorized");
}

iam_reply bad_body(std::string_view why) {
  return iam_error(400, std::string("The request body is invalid: ") + std::string(why),
                   "Bad Request");
}

// The string at a path of nested objects, or nothing.
std::optional<std::string> string_at(const json::value& v,
                                     std::initializer_list<const char*> path) {
  const json::value* at = &v;
  for (const char* key : path) {
    const auto* o = at->if_object();
    if (!o) return std::nullopt;
    at = o->if_contains(key);
    if (!at) return std::nullopt;
  }
  if (!at->is_string()) return std::nullopt;
  return std::string(at->as_string());
}

bool has_password_method(const json::value& v) {
  const json::value* at = &v;
  for (const char* key : {"auth", "identity", "methods"}) {
    const auto* o = at->if_object();
    at = o ? o->if_contains(key) : nullptr;
    if (!at) return false;
  }
  if (!at->is_array()) return false;
  for (const auto& m : at->as_array())
    if (m.is_string() && m.as_string() == "password") return true;
  return false;
}

error_reply gateway_error(unsigned status, std::string code, std::string msg) {
  return {status, std::move(code), std::move(msg), {}};
}

error_reply bad_signature() {
  return gateway_error(401, "APIGW.0301",
                       "Incorrect IAM authentication information: verify aksk signature fail");
}

const std::string* header(const aksk::request& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? nullptr : &it->second;
}

}  // namespace

std::string_view to_string(auth_mode m) {
  switch (m) {
    case auth_mode::token:
      return "token";
    case auth_mode::iam:
      return "iam";
    case auth_mode::aksk:
      return "aksk";
    case auth_mode::any:
      return "any";
  }
  return "?";
}

std::string iam_time(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto us = floor<microseconds>(t);
  const auto day_start = floor<days>(us);
  const year_month_day ymd{day_start};
  const hh_mm_ss hms{us - day_start};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<long long>(hms.subseconds().count()));
  return buf;
}

std::string http_date(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  static constexpr const char* weekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  const auto secs = floor<seconds>(t);
  const auto day_start = floor<days>(secs);
  const year_month_day ymd{day_start};
  const hh_mm_ss hms{secs - day_start};
  const weekday wd{day_start};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT", weekdays[wd.c_encoding()],
                static_cast<unsigned>(ymd.day()), months[static_cast<unsigned>(ymd.month()) - 1],
                static_cast<int>(ymd.year()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

gateway_auth::gateway_auth() : random_(std::random_device{}()) {}

void gateway_auth::add_iam_user(std::string domain, std::string user, std::string password) {
  users_[{std::move(domain), std::move(user)}] = std::move(password);
}

std::string gateway_auth::new_token() {
  // Looks like a real one ("MII" + base64 of a PKI blob), long like one.
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string t = "MII";
  while (t.size() < std::max<std::size_t>(settings_.token_size, 32))
    t.push_back(alphabet[random_() % 64]);
  return t;
}

iam_reply gateway_auth::login(std::string_view body, bool with_catalog, wall::time_point now) {
  std::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec) return bad_body("not JSON");
  if (!has_password_method(v)) return bad_body("auth.identity.methods must include password");
  auto domain = string_at(v, {"auth", "identity", "password", "user", "domain", "name"});
  auto user = string_at(v, {"auth", "identity", "password", "user", "name"});
  auto password = string_at(v, {"auth", "identity", "password", "user", "password"});
  auto project = string_at(v, {"auth", "scope", "project", "id"});
  if (!domain || !user || !password)
    return bad_body("user domain name, name and password are required");
  // The daemon always asks for a project-scoped token; an unscoped one
  // would be useless to it.
  if (!project || project->empty()) return bad_body("auth.scope.project.id is required");
  auto it = users_.find({*domain, *user});
  if (it == users_.end() || it->second != *password) return wrong_password();

  issued_token t{new_token(), *project, *domain, *user, now, now + settings_.token_lifetime};
  json::object token{
      {"expires_at", iam_time(t.expires_at)},
      {"issued_at", iam_time(t.issued_at)},
      {"methods", json::array{"password"}},
      {"project",
       {{"id", t.project_id},
        {"name", "fake-region"},
        {"domain", {{"id", "domain-" + t.domain}, {"name", t.domain}}}}},
      {"roles", json::array{json::object{{"id", "0"}, {"name", "op_service"}}}},
      {"user",
       {{"id", "user-" + t.user},
        {"name", t.user},
        {"domain", {{"id", "domain-" + t.domain}, {"name", t.domain}}}}},
  };
  if (with_catalog) token["catalog"] = json::array{};
  iam_reply r{201, t.token, json::serialize(json::object{{"token", std::move(token)}})};
  by_token_[t.token] = issued_.size();
  issued_.push_back(std::move(t));
  return r;
}

void gateway_auth::expire_tokens(wall::time_point now) {
  for (auto& t : issued_) t.expires_at = std::min(t.expires_at, now);
}

void gateway_auth::add_access_key(std::string ak, std::string sk) {
  keys_[std::move(ak)].sk = std::move(sk);
}

std::size_t gateway_auth::signature_failures(const std::string& ak) const {
  auto it = keys_.find(ak);
  return it == keys_.end() ? 0 : it->second.failures;
}

bool gateway_auth::locked(const std::string& ak, steady::time_point now) const {
  auto it = keys_.find(ak);
  return it != keys_.end() && now < it->second.locked_until;
}

std::optional<error_reply> gateway_auth::check(auth_mode mode, const std::string& static_token,
                                               const aksk::request& r,
                                               const std::string& project_id, wall::time_point now,
                                               steady::time_point steady_now) {
  const std::string* token = header(r, "x-auth-token");
  const std::string* authz = header(r, "authorization");
  const bool signed_request = authz && authz->starts_with("SDK-HMAC-SHA256");
  switch (mode) {
    case auth_mode::token:
      if (!token) return missing_token();
      if (*token != static_token) return bad_token();
      return std::nullopt;
    case auth_mode::iam:
      if (!token) return missing_token();
      return check_token(*token, project_id, now);
    case auth_mode::aksk:
      if (!signed_request) return missing_token();
      return check_aksk(r, project_id, now, steady_now);
    case auth_mode::any:
      if (signed_request) return check_aksk(r, project_id, now, steady_now);
      if (!token) return missing_token();
      if (*token == static_token) return std::nullopt;
      return check_token(*token, project_id, now);
  }
  return bad_token();
}

std::optional<error_reply> gateway_auth::check_token(const std::string& token,
                                                     const std::string& project_id,
                                                     wall::time_point now) const {
  auto it = by_token_.find(token);
  if (it == by_token_.end()) return bad_token();
  const issued_token& t = issued_[it->second];
  if (t.project_id != project_id)
    return gateway_error(401, "APIGW.0301",
                         "Incorrect IAM authentication information: the token is scoped to "
                         "another project");
  if (now >= t.expires_at) return gateway_error(401, "APIGW.0307", "The token must be updated");
  return std::nullopt;
}

error_reply gateway_auth::signature_failed(access_key& key, error_reply e, steady::time_point now) {
  ++key.failures;
  if (++key.failures_in_a_row >= settings_.lock_after) {
    key.failures_in_a_row = 0;
    key.locked_until = now + settings_.lock_for;
  }
  return e;
}

std::optional<error_reply> gateway_auth::check_aksk(const aksk::request& r,
                                                    const std::string& project_id,
                                                    wall::time_point now,
                                                    steady::time_point steady_now) {
  auto auth = aksk::parse_authorization(*header(r, "authorization"));
  if (!auth) return bad_signature();
  auto key = keys_.find(auth->access_key);
  if (key == keys_.end())
    return gateway_error(401, "APIGW.0301",
                         "Incorrect IAM authentication information: Get secretKey failed");
  if (steady_now < key->second.locked_until)
    return gateway_error(401, "APIGW.0301",
                         "Incorrect IAM authentication information: AK access failed to reach "
                         "the limit,forbidden");
  const std::string* date = header(r, "x-sdk-date");
  auto signed_at = date ? aksk::parse_sdk_date(*date) : std::nullopt;
  if (!signed_at) return signature_failed(key->second, bad_signature(), steady_now);
  const auto skew = signed_at.value() > now ? *signed_at - now : now - *signed_at;
  if (skew > settings_.signature_window)
    return signature_failed(
        key->second,
        gateway_error(401, "APIGW.0303",
                      "Incorrect app authentication information: signature expired, signature "
                      "time:" +
                          *date + ",server time:" + aksk::format_sdk_date(now)),
        steady_now);
  if (!aksk::verify(r, *auth, key->second.sk))
    return signature_failed(key->second, bad_signature(), steady_now);
  key->second.failures_in_a_row = 0;
  // The signature is good; the key must also be used for the project the
  // path names (the SDK sends X-Project-Id for project-scoped APIs).
  const std::string* project = header(r, "x-project-id");
  if (!project || *project != project_id)
    return gateway_error(401, "APIGW.0301",
                         "Incorrect IAM authentication information: X-Project-Id does not match "
                         "the project of the request");
  return std::nullopt;
}

}  // namespace fake_hss
