// The fake HSS checked from the outside, over real TLS on 127.0.0.1 with a
// small blocking Beast client that trusts only the generated CA and checks
// the host name "localhost": paging and order, parameter validation, EP
// semantics, filters, auth errors, X-Request-Id, keep-alive, every fault
// kind, the request hook, churn, and the hss-fake executable. The other
// integration tests rely on the fake being right; this is where that is
// earned.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/temp_dir.hpp"
#include "fake_hss/server.hpp"

namespace fake_hss_test {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using fake_hss::fault;
using fake_hss::job;
using namespace std::chrono_literals;

constexpr auto op_timeout = 5s;  // only a hang (or a stall fault) reaches it

struct response {
  error_code ec;  // transport error; status etc. are meaningless then
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  json::value doc() const { return json::parse(body); }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

// A blocking HTTPS/1.1 client over one keep-alive connection. Every step
// runs the private io_context with a deadline, so a server that never
// answers makes the step fail with timed_out instead of hanging the test.
class client {
 public:
  client(std::uint16_t port, const std::string& ca_file, std::string host = "localhost")
      : port_(port), host_(std::move(host)) {
    tls_.load_verify_file(ca_file);
    tls_.set_verify_mode(ssl::verify_peer);
  }

  error_code connect(std::chrono::milliseconds timeout = op_timeout) {
    stream_.emplace(ioc_, tls_);
    buffer_.clear();
    if (!SSL_set_tlsext_host_name(stream_->native_handle(), host_.c_str()))
      return error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
    stream_->set_verify_callback(ssl::host_name_verification(host_));
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port_);
    error_code ec =
        run(timeout, [&](auto done) { beast::get_lowest_layer(*stream_).async_connect(ep, done); });
    if (ec) return ec;
    return run(timeout,
               [&](auto done) { stream_->async_handshake(ssl::stream_base::client, done); });
  }

  response get(const std::string& target, std::optional<std::string> token = "test-token",
               std::chrono::milliseconds timeout = op_timeout, http::verb verb = http::verb::get) {
    response out;
    if (!stream_ && (out.ec = connect(timeout))) return out;
    http::request<http::empty_body> req{verb, target, 11};
    req.set(http::field::host, host_ + ":" + std::to_string(port_));
    req.set(http::field::user_agent, "fake-hss-test");
    if (token) req.set("X-Auth-Token", *token);
    out.ec = run(timeout, [&](auto done) { http::async_write(*stream_, req, done); });
    if (out.ec) return drop(out);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    out.ec = run(timeout, [&](auto done) { http::async_read(*stream_, buffer_, parser, done); });
    if (out.ec) return drop(out);
    const auto& res = parser.get();
    out.status = res.result_int();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers.emplace(std::move(name), std::string(f.value()));
    }
    out.body = res.body();
    if (!res.keep_alive()) stream_.reset();
    return out;
  }

  bool connected() const { return stream_.has_value(); }

 private:
  // Runs one async step to completion or deadline; on deadline the socket
  // is closed, which completes the step with operation_aborted.
  template <class Start>
  error_code run(std::chrono::milliseconds timeout, Start start) {
    std::optional<error_code> result;
    start([&](error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (result) return *result;
    error_code ignored;
    beast::get_lowest_layer(*stream_).socket().close(ignored);
    ioc_.restart();
    ioc_.run_for(1s);
    return asio::error::timed_out;
  }

  response& drop(response& r) {
    stream_.reset();
    return r;
  }

  asio::io_context ioc_;
  ssl::context tls_{ssl::context::tls_client};
  std::uint16_t port_;
  std::string host_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
};

std::string jobs_target(const std::string& project, std::int64_t offset, std::int64_t limit = 10,
                        const std::string& extra = "") {
  return "/v5/" + project + "/kubernetes/jobs?limit=" + std::to_string(limit) +
         "&offset=" + std::to_string(offset) + extra;
}

job make_job(std::string name, std::int64_t create_time, std::string eps = "0",
             std::string cluster = "c1", std::string ns = "default") {
  job j;
  j.project_id = "p1";
  j.eps = std::move(eps);
  j.cluster = std::move(cluster);
  j.ns = std::move(ns);
  j.name = std::move(name);
  j.create_time = create_time;
  return j;
}

std::vector<std::string> names_of(const json::value& page) {
  std::vector<std::string> out;
  for (const auto& j : page.at("job_info_list").as_array())
    out.emplace_back(j.at("name").as_string());
  return out;
}

class fake_hss_fixture : public ::testing::Test {
 protected:
  fake_hss::server srv;
  client c{srv.port(), srv.ca_file()};

  response jobs(std::int64_t offset, std::int64_t limit = 10, const std::string& extra = "") {
    return c.get(jobs_target("p1", offset, limit, extra));
  }
  // Every page of a listing, one request per page on one connection.
  std::vector<std::string> walk(const std::string& extra = "", std::int64_t limit = 10) {
    std::vector<std::string> names;
    for (std::int64_t offset = 0;; offset += limit) {
      const response r = jobs(offset, limit, extra);
      EXPECT_EQ(r.status, 200u) << r.body;
      if (r.status != 200) return names;
      const auto page = names_of(r.doc());
      names.insert(names.end(), page.begin(), page.end());
      if (offset + limit >= r.doc().at("total_num").as_int64()) return names;
    }
  }
};

// ------------------------------------------------------------------ TLS

TEST_F(fake_hss_fixture, tls_verifies_against_the_generated_ca_and_localhost) {
  EXPECT_TRUE(std::filesystem::exists(srv.ca_file()));
  EXPECT_EQ(srv.endpoint(), "https://localhost:" + std::to_string(srv.port()));
  EXPECT_FALSE(c.connect());
  client wrong_name(srv.port(), srv.ca_file(), "hss.example.com");
  EXPECT_TRUE(wrong_name.connect());  // SAN is DNS:localhost, IP:127.0.0.1 only
  client by_ip(srv.port(), srv.ca_file(), "127.0.0.1");
  EXPECT_FALSE(by_ip.connect());
}

TEST(fake_hss_server, state_dir_holds_the_ca_and_temp_dir_is_removed) {
  std::string dir;
  {
    fake_hss::server srv;
    dir = srv.state_dir();
    EXPECT_TRUE(std::filesystem::exists(dir + "/ca.pem"));
    EXPECT_TRUE(std::filesystem::exists(dir + "/server.pem"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

// ------------------------------------------------------------ paging & order

TEST_F(fake_hss_fixture, pages_cover_the_listing_newest_first) {
  srv.populate("p1", "0", 45);
  const auto expected = srv.jobs("p1");
  ASSERT_EQ(expected.size(), 45u);
  for (std::size_t i = 1; i < expected.size(); ++i)
    EXPECT_GE(expected[i - 1].create_time, expected[i].create_time);

  const auto names = walk();
  ASSERT_EQ(names.size(), 45u);
  for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(names[i], expected[i].name);

  const response r = jobs(40);
  const auto page = r.doc().as_object();
  EXPECT_EQ(page.at("total_num").as_int64(), 45);
  EXPECT_EQ(page.at("last_update_time").as_int64(), srv.last_update_time("p1"));
  EXPECT_EQ(page.at("job_info_list").as_array().size(), 5u);
  EXPECT_EQ(jobs(45).doc().at("job_info_list").as_array().size(), 0u);
  // limit is a page size, offset a record index: offset 3 starts mid-"page".
  EXPECT_EQ(names_of(jobs(3).doc()).front(), expected[3].name);
}

// options::prerender (benchmarks) serves the same bytes as rendering each
// time, follows every change, and leaves faulted answers alone.
TEST(fake_hss_server, prerendered_pages_are_the_rendered_ones_and_follow_changes) {
  fake_hss::server::options o;
  o.prerender = true;
  fake_hss::server pre(o);
  fake_hss::server plain;
  client cp{pre.port(), pre.ca_file()}, cr{plain.port(), plain.ca_file()};
  const auto synthetic = fake_hss::synthetic_jobs("p1", "0", 45);
  pre.upsert_many(synthetic);
  plain.upsert_many(synthetic);
  auto same = [&](const std::string& target) {
    const response a = cp.get(target), b = cr.get(target);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.doc().as_object().at("job_info_list"), b.doc().as_object().at("job_info_list"));
    EXPECT_EQ(a.doc().as_object().at("total_num"), b.doc().as_object().at("total_num"));
    return a;
  };
  const auto first = same(jobs_target("p1", 10));
  EXPECT_EQ(cp.get(jobs_target("p1", 10)).body, first.body);  // served again, unchanged
  job changed = synthetic[12];
  changed.status = "Failed";
  pre.upsert(changed);
  plain.upsert(changed);
  const auto after = same(jobs_target("p1", 10));
  EXPECT_NE(after.body, first.body);
  EXPECT_EQ(after.doc().at("last_update_time").as_int64(), pre.last_update_time("p1"));
  pre.erase("p1", "0", synthetic[0].cluster, synthetic[0].ns, synthetic[0].name);
  plain.erase("p1", "0", synthetic[0].cluster, synthetic[0].ns, synthetic[0].name);
  same(jobs_target("p1", 10));
  same(jobs_target("p1", 0, 10, "&cluster_name=" + synthetic[3].cluster));
  pre.inject(fault::missing_field("name", 0).on_offset(10));
  const response faulted = cp.get(jobs_target("p1", 10));
  EXPECT_FALSE(faulted.doc().at("job_info_list").at(0).as_object().contains("name"));
  EXPECT_EQ(cp.get(jobs_target("p1", 10, 5)).status, 400u);  // limit < 10: still validated
  EXPECT_EQ(cp.get("/v5/p1/kubernetes/jobs?limit=10", std::nullopt).status, 401u);
}

TEST_F(fake_hss_fixture, job_rendering_is_the_documented_shape_with_extra_fields_passed_through) {
  job j = make_job("cceaddon-npd", 1720765124000, "0", "glz-2451", "kube-system");
  j.pods_num = 6;
  j.image = "base-node-problem-detector:1.19.8";
  j.labels = {{"app.kubernetes.io/name", "npd"}};
  j.extra["zone"] = "az1";
  srv.upsert(j);
  const auto got = jobs(0).doc().at("job_info_list").at(0).as_object();
  EXPECT_EQ(got, json::parse(R"({"cluster_name":"glz-2451","namespace_name":"kube-system",
      "name":"cceaddon-npd","status":"Running","pods_num":6,
      "image_name":"base-node-problem-detector:1.19.8",
      "match_labels":[{"key":"app.kubernetes.io/name","val":"npd"}],
      "create_time":1720765124000,"execute_time":1720765124000,"zone":"az1"})")
                     .as_object());
}

TEST_F(fake_hss_fixture, ties_go_to_the_later_insertion_and_modifications_keep_their_place) {
  srv.upsert(make_job("a", 1000));
  srv.upsert(make_job("b", 1000));
  srv.upsert(make_job("c", 1000));
  srv.upsert(make_job("old", 500));
  EXPECT_EQ(walk(), (std::vector<std::string>{"c", "b", "a", "old"}));
  job a = make_job("a", 1000);
  a.status = "Failed";
  EXPECT_FALSE(srv.upsert(a));  // modified, same create_time: stays put
  EXPECT_EQ(walk(), (std::vector<std::string>{"c", "b", "a", "old"}));
  EXPECT_FALSE(srv.upsert(make_job("old", 2000)));  // replaced: moves to its new time
  EXPECT_EQ(walk(), (std::vector<std::string>{"old", "c", "b", "a"}));
  EXPECT_TRUE(srv.erase("p1", "0", "c1", "default", "b"));
  EXPECT_FALSE(srv.erase("p1", "0", "c1", "default", "b"));
  EXPECT_EQ(walk(), (std::vector<std::string>{"old", "c", "a"}));
}

TEST_F(fake_hss_fixture, last_update_time_moves_on_every_change_only) {
  srv.upsert(make_job("a", 1000));
  const auto t1 = jobs(0).doc().at("last_update_time").as_int64();
  EXPECT_GT(t1, 0);
  srv.upsert(make_job("a", 1000));  // identical: not a change
  EXPECT_EQ(jobs(0).doc().at("last_update_time").as_int64(), t1);
  srv.upsert(make_job("b", 1000));  // maybe the same millisecond: must still move
  const auto t2 = jobs(0).doc().at("last_update_time").as_int64();
  EXPECT_GT(t2, t1);
  srv.erase("p1", "0", "c1", "default", "a");
  EXPECT_GT(jobs(0).doc().at("last_update_time").as_int64(), t2);
}

TEST_F(fake_hss_fixture, bulk_load_orders_like_single_inserts) {
  fake_hss::server other;
  auto synthetic = fake_hss::synthetic_jobs("p1", "0", 300, 7);
  for (const auto& j : synthetic) other.upsert(j);
  srv.upsert_many(synthetic);
  const auto a = srv.jobs("p1"), b = other.jobs("p1");
  ASSERT_EQ(a.size(), 300u);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].name, b[i].name);
  EXPECT_EQ(fake_hss::synthetic_jobs("p1", "0", 300, 7), synthetic);  // deterministic

  // A key given twice in one batch ends up once, as its last version.
  fake_hss::server twice;
  twice.upsert_many({make_job("a", 1000), make_job("b", 1500), make_job("a", 2000)});
  const auto got = twice.jobs("p1");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, "a");
  EXPECT_EQ(got[0].create_time, 2000);
  EXPECT_EQ(got[1].name, "b");
}

// ------------------------------------------------------------ validation

TEST_F(fake_hss_fixture, limit_and_offset_are_validated_with_hss_0001) {
  srv.populate("p1", "0", 5);
  for (const std::string target :
       {"/v5/p1/kubernetes/jobs", "/v5/p1/kubernetes/jobs?offset=0",
        "/v5/p1/kubernetes/jobs?limit=9", "/v5/p1/kubernetes/jobs?limit=201",
        "/v5/p1/kubernetes/jobs?limit=ten", "/v5/p1/kubernetes/jobs?limit=10&offset=-1",
        "/v5/p1/kubernetes/jobs?limit=10&offset=2000001",
        "/v5/p1/kubernetes/jobs?limit=10&offset=1x"}) {
    const response r = c.get(target);
    EXPECT_EQ(r.status, 400u) << target;
    EXPECT_EQ(r.doc().at("error_code"), "HSS.0001") << target;
    EXPECT_FALSE(r.doc().at("error_msg").as_string().empty());
    EXPECT_EQ(r.header("x-request-id").size(), 32u);
  }
  EXPECT_EQ(jobs(0, 10).status, 200u);
  EXPECT_EQ(jobs(0, 200).status, 200u);
  const response far = jobs(2'000'000, 200);
  EXPECT_EQ(far.status, 200u);
  EXPECT_EQ(far.doc().at("total_num").as_int64(), 5);
  EXPECT_TRUE(far.doc().at("job_info_list").as_array().empty());
}

TEST_F(fake_hss_fixture, unknown_paths_and_methods_are_404_apigw_0101) {
  for (const std::string target : {"/v5/p1/kubernetes/jobz?limit=10", "/v5/p1/kubernetes/jobs/",
                                   "/v5/kubernetes/jobs?limit=10", "/"}) {
    const response r = c.get(target);
    EXPECT_EQ(r.status, 404u) << target;
    EXPECT_EQ(r.doc().at("error_code"), "APIGW.0101");
    EXPECT_EQ(r.doc().at("request_id").as_string(), r.header("x-request-id"));
  }
  EXPECT_EQ(c.get(jobs_target("p1", 0), "test-token", op_timeout, http::verb::post).status, 404u);
}

// ------------------------------------------------------------ scopes

TEST_F(fake_hss_fixture, enterprise_projects_default_to_zero_and_all_granted_merges_in_order) {
  srv.upsert(make_job("in-0", 3000, "0"));
  srv.upsert(make_job("in-a", 4000, "a"));
  srv.upsert(make_job("in-b", 2000, "b"));
  srv.upsert(make_job("in-a-old", 1000, "a"));
  EXPECT_EQ(walk(), (std::vector<std::string>{"in-0"}));
  EXPECT_EQ(walk("&enterprise_project_id="), (std::vector<std::string>{"in-0"}));
  EXPECT_EQ(walk("&enterprise_project_id=0"), (std::vector<std::string>{"in-0"}));
  EXPECT_EQ(walk("&enterprise_project_id=a"), (std::vector<std::string>{"in-a", "in-a-old"}));
  EXPECT_EQ(walk("&enterprise_project_id=all_granted_eps"),
            (std::vector<std::string>{"in-a", "in-0", "in-b", "in-a-old"}));
  EXPECT_EQ(walk("&enterprise_project_id=nope"), std::vector<std::string>{});
  const response other = c.get(jobs_target("unknown-project", 0));
  EXPECT_EQ(other.status, 200u);
  EXPECT_EQ(other.doc().at("total_num").as_int64(), 0);
}

TEST_F(fake_hss_fixture, filters_are_exact_and_combine) {
  srv.upsert(make_job("backup-1", 5000, "0", "prod", "batch"));
  srv.upsert(make_job("backup-2", 4000, "0", "prod", "etl"));
  srv.upsert(make_job("backup-1", 3000, "0", "dev", "batch"));
  srv.upsert(make_job("report", 2000, "0", "prod-a", "batch"));
  EXPECT_EQ(walk("&cluster_name=prod"), (std::vector<std::string>{"backup-1", "backup-2"}));
  EXPECT_EQ(walk("&namespace_name=batch"),
            (std::vector<std::string>{"backup-1", "backup-1", "report"}));
  EXPECT_EQ(walk("&job_name=backup-1&cluster_name=dev").size(), 1u);
  EXPECT_EQ(walk("&job_name=backup").size(), 0u);  // no substring match
  EXPECT_EQ(walk("&cluster_name=").size(), 4u);    // empty = no filter
  const response r = jobs(1, 10, "&namespace_name=batch");
  EXPECT_EQ(r.doc().at("total_num").as_int64(), 3);  // counts matches, not the scope
  EXPECT_EQ(names_of(r.doc()), (std::vector<std::string>{"backup-1", "report"}));
}

// ------------------------------------------------------------ auth

TEST_F(fake_hss_fixture, auth_failures_are_apigw_0301_with_the_request_id) {
  srv.populate("p1", "0", 3);
  const response none = c.get(jobs_target("p1", 0), std::nullopt);
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(none.doc().at("error_code"), "APIGW.0301");
  EXPECT_EQ(none.doc().at("error_msg"),
            "Incorrect IAM authentication information: x-auth-token not found");
  EXPECT_EQ(none.doc().at("request_id").as_string(), none.header("x-request-id"));
  const response bad = c.get(jobs_target("p1", 0), "other-token");
  EXPECT_EQ(bad.status, 401u);
  EXPECT_EQ(bad.doc().at("error_msg"),
            "Incorrect IAM authentication information: decrypt token fail");
  EXPECT_NE(bad.header("x-request-id"), none.header("x-request-id"));

  srv.set_token("rotated");
  EXPECT_EQ(c.get(jobs_target("p1", 0), "test-token").status, 401u);
  EXPECT_EQ(c.get(jobs_target("p1", 0), "rotated").status, 200u);
  srv.set_accept_any_auth(true);
  EXPECT_EQ(c.get(jobs_target("p1", 0), std::nullopt).status, 200u);
  srv.set_accept_any_auth(false);

  // The pluggable check sees the request as received.
  srv.set_auth_check([](const fake_hss::request_view& r) -> std::optional<fake_hss::error_reply> {
    if (r.headers.contains("authorization")) return std::nullopt;
    return fake_hss::error_reply{
        401,
        "APIGW.0301",
        "Incorrect IAM authentication information: verify aksk signature fail",
        {}};
  });
  EXPECT_EQ(c.get(jobs_target("p1", 0), "rotated").status, 401u);
  srv.set_auth_check({});
  EXPECT_EQ(c.get(jobs_target("p1", 0), "rotated").status, 200u);
}

TEST_F(fake_hss_fixture, every_response_has_a_unique_hex_request_id) {
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    const response r = i % 2 ? jobs(0) : c.get("/nowhere");
    const std::string id = r.header("x-request-id");
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 20u);
  const auto log = srv.requests();
  ASSERT_EQ(log.size(), 20u);
  EXPECT_TRUE(ids.contains(log.back().request_id));
}

// ------------------------------------------------------------ connection & log

TEST_F(fake_hss_fixture, keep_alive_serves_many_requests_on_one_connection) {
  srv.populate("p1", "0", 30);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(jobs(i * 10).status, 200u);
  EXPECT_TRUE(c.connected());
  const auto log = srv.requests();
  ASSERT_EQ(log.size(), 5u);
  for (const auto& r : log) EXPECT_EQ(r.connection, log.front().connection);
}

TEST_F(fake_hss_fixture, request_log_records_what_was_sent) {
  jobs(20, 50, "&enterprise_project_id=all_granted_eps&job_name=a%20b");
  c.get("/other");
  auto log = srv.requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].index, 0u);
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].path, "/v5/p1/kubernetes/jobs");
  EXPECT_EQ(log[0].project_id, "p1");
  EXPECT_EQ(log[0].query.at("limit"), "50");
  EXPECT_EQ(log[0].query.at("offset"), "20");
  EXPECT_EQ(log[0].query.at("job_name"), "a b");
  EXPECT_EQ(log[0].headers.at("x-auth-token"), "test-token");
  EXPECT_EQ(log[0].headers.at("user-agent"), "fake-hss-test");
  EXPECT_EQ(log[0].status, 200u);
  EXPECT_EQ(log[1].project_id, "");
  EXPECT_EQ(log[1].status, 404u);
  srv.clear_requests();
  jobs(0);
  log = srv.requests();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].index, 2u);  // indexes keep counting
}

TEST(fake_hss_server, request_log_limit_keeps_the_newest) {
  fake_hss::server::options o;
  o.request_log_limit = 4;
  fake_hss::server srv(o);
  client c(srv.port(), srv.ca_file());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(c.get("/x").status, 404u);
  const auto log = srv.requests();
  ASSERT_FALSE(log.empty());
  EXPECT_LE(log.size(), 4u);
  EXPECT_EQ(log.back().index, 9u);
  EXPECT_EQ(log.back().status, 404u);
}

TEST_F(fake_hss_fixture, latency_delays_every_response) {
  srv.set_latency(100ms);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(c.get("/x").status, 404u);
  EXPECT_EQ(jobs(0).status, 200u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);  // a lower bound only
  srv.set_latency(0ms);
}

// ------------------------------------------------------------ faults

TEST_F(fake_hss_fixture, http_error_faults_use_huawei_bodies) {
  srv.populate("p1", "0", 3);
  srv.inject(fault::internal_error());
  srv.inject(fault::unavailable().skip_first(1));
  srv.inject(fault::token_expired().skip_first(2));
  srv.inject(fault::throttled(std::chrono::seconds(7)).skip_first(3));
  srv.inject(fault::throttled().skip_first(4));
  const std::vector<std::pair<unsigned, std::string>> expected{{500, "HSS.0041"},
                                                               {503, "APIGW.0613"},
                                                               {401, "APIGW.0307"},
                                                               {429, "APIGW.0308"},
                                                               {429, "APIGW.0308"}};
  std::vector<response> got;
  for (const auto& [status, code] : expected) {
    got.push_back(jobs(0));
    EXPECT_EQ(got.back().status, status);
    EXPECT_EQ(got.back().doc().at("error_code").as_string(), code);
    EXPECT_EQ(got.back().header("x-request-id").size(), 32u);
  }
  EXPECT_EQ(got[3].header("retry-after"), "7");
  EXPECT_EQ(got[4].header("retry-after"), "");
  EXPECT_EQ(srv.pending_faults(), 0u);
  EXPECT_EQ(jobs(0).status, 200u);
  EXPECT_EQ(srv.requests()[0].faults,
            std::vector<fake_hss::fault_kind>{fake_hss::fault_kind::http_error});
}

TEST_F(fake_hss_fixture, fault_targeting_by_offset_index_skip_and_count) {
  srv.populate("p1", "0", 40);
  srv.inject(fault::internal_error().on_offset(20).repeat(2));
  EXPECT_EQ(jobs(0).status, 200u);
  EXPECT_EQ(jobs(10).status, 200u);
  EXPECT_EQ(jobs(20).status, 500u);
  EXPECT_EQ(jobs(30).status, 200u);
  EXPECT_EQ(jobs(20).status, 500u);
  EXPECT_EQ(jobs(20).status, 200u);  // count spent

  srv.inject(fault::internal_error().on_index(7));
  EXPECT_EQ(jobs(0).status, 200u);  // request #6
  EXPECT_EQ(jobs(0).status, 500u);  // request #7
  srv.inject(fault::internal_error().forever().on_project("p2"));
  EXPECT_EQ(jobs(0).status, 200u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.get(jobs_target("p2", 0)).status, 500u);
  EXPECT_EQ(srv.pending_faults(), 1u);
  srv.clear_faults();
  EXPECT_EQ(c.get(jobs_target("p2", 0)).status, 200u);
}

TEST_F(fake_hss_fixture, stall_without_delay_never_answers) {
  srv.populate("p1", "0", 3);
  srv.inject(fault::stall());
  const response r = c.get(jobs_target("p1", 0), "test-token", 300ms);
  EXPECT_EQ(r.ec, asio::error::timed_out);
  EXPECT_EQ(srv.requests().back().status, 0u);
  EXPECT_EQ(jobs(0).status, 200u);  // a new connection is served
}

TEST_F(fake_hss_fixture, stall_with_delay_answers_late) {
  srv.populate("p1", "0", 3);
  srv.inject(fault::stall(150ms));
  const auto start = std::chrono::steady_clock::now();
  const response r = jobs(0);
  EXPECT_EQ(r.status, 200u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);  // a lower bound, not a speed claim
}

TEST_F(fake_hss_fixture, reset_closes_without_answer) {
  srv.populate("p1", "0", 3);
  srv.inject(fault::reset());
  const response r = jobs(0);
  EXPECT_TRUE(r.ec);
  EXPECT_EQ(r.status, 0u);
  EXPECT_EQ(srv.requests().back().status, 0u);
  EXPECT_EQ(jobs(0).status, 200u);
}

TEST_F(fake_hss_fixture, truncated_body_ends_the_connection_early) {
  srv.populate("p1", "0", 10);
  srv.inject(fault::truncate());
  const response r = jobs(0);
  EXPECT_TRUE(r.ec) << r.body;
  EXPECT_EQ(jobs(0).status, 200u);
}

TEST_F(fake_hss_fixture, body_faults_break_the_page_as_asked) {
  srv.populate("p1", "0", 12);
  const std::string clean = jobs(0).body;

  srv.inject(fault::malformed_json());
  const response malformed = jobs(0);
  EXPECT_EQ(malformed.status, 200u);
  error_code ec;
  json::parse(malformed.body, ec);
  EXPECT_TRUE(ec);

  srv.inject(fault::wrong_type());
  EXPECT_TRUE(jobs(0).doc().at("job_info_list").at(0).at("pods_num").is_string());
  srv.inject(fault::wrong_type("name", 2));
  const auto typed = jobs(0).doc();
  EXPECT_TRUE(typed.at("job_info_list").at(2).at("name").is_int64());
  EXPECT_TRUE(typed.at("job_info_list").at(1).at("name").is_string());

  srv.inject(fault::missing_field());
  EXPECT_FALSE(jobs(0).doc().at("job_info_list").at(0).as_object().contains("name"));

  srv.inject(fault::wrong_total(3));
  EXPECT_EQ(jobs(0).doc().at("total_num").as_int64(), 15);

  srv.inject(fault::error_body_200("HSS.1001", "not associated"));
  const response err200 = jobs(0);
  EXPECT_EQ(err200.status, 200u);
  EXPECT_EQ(err200.doc().at("error_code"), "HSS.1001");

  srv.inject(fault::trickle(1ms, 97));
  EXPECT_EQ(jobs(0).body, clean);
  EXPECT_EQ(jobs(0).body, clean);  // and nothing left behind
}

TEST_F(fake_hss_fixture, shift_fault_inserts_and_deletes_before_serving) {
  for (int i = 0; i < 30; ++i) srv.upsert(make_job("j" + std::to_string(i), 1000 + i));
  // Listing: j29 ... j0. Two new jobs at the front before the second page:
  // that page starts two positions earlier than the walker expects.
  srv.inject(fault::shift(2).on_offset(10));
  EXPECT_EQ(names_of(jobs(10).doc()).front(), "j21");
  EXPECT_EQ(srv.size(), 32u);
  EXPECT_EQ(srv.jobs("p1").front().name.rfind("shifted-", 0), 0u);

  // Insert in the middle, at position 5.
  srv.inject(fault::shift(1, 5));
  auto names = names_of(jobs(0, 10).doc());
  EXPECT_EQ(names[5].rfind("shifted-", 0), 0u);
  EXPECT_EQ(names[6], "j26");  // the job that was at position 5

  // Delete three at the front: the next page moves up by three.
  srv.inject(fault::shift(-3));
  names = names_of(jobs(0).doc());
  EXPECT_EQ(names.front(), "j28");  // the two front inserts and j29 are gone
  EXPECT_EQ(srv.size(), 30u);
}

// ------------------------------------------------------------ hook

TEST_F(fake_hss_fixture, hook_mutates_the_inventory_during_a_walk) {
  for (int i = 0; i < 20; ++i) srv.upsert(make_job("j" + std::to_string(i), 1000 + i));
  std::vector<std::int64_t> offsets_seen;
  srv.on_request([&](const fake_hss::request_record& r) {
    offsets_seen.push_back(std::stoll(r.query.at("offset")));
    // Before the second page: the newest job is deleted, everything moves
    // up by one, and the walker never sees j9.
    if (r.query.at("offset") == "10") srv.erase("p1", "0", "c1", "default", "j19");
  });
  const auto names = walk();
  srv.on_request({});
  EXPECT_EQ(offsets_seen, (std::vector<std::int64_t>{0, 10}));
  ASSERT_EQ(names.size(), 19u);
  EXPECT_EQ(names[9], "j10");
  EXPECT_EQ(names[10], "j8");
  EXPECT_EQ(std::count(names.begin(), names.end(), "j9"), 0);
}

// ------------------------------------------------------------ churn

TEST(fake_hss_churn, steps_are_deterministic_for_a_seed) {
  fake_hss::server a, b;
  a.populate("p1", "0", 40, 3);
  b.populate("p1", "0", 40, 3);
  const fake_hss::churn_options o{.seed = 11, .adds = 3, .modifies = 2, .removes = 2};
  for (int step = 0; step < 3; ++step) {
    const auto ca = a.churn_step(o), cb = b.churn_step(o);
    ASSERT_EQ(ca.size(), 7u);
    ASSERT_EQ(cb.size(), 7u);
    for (std::size_t i = 0; i < ca.size(); ++i) {
      EXPECT_EQ(ca[i].what, cb[i].what);
      EXPECT_EQ(ca[i].before.name, cb[i].before.name);
      EXPECT_EQ(ca[i].after.name, cb[i].after.name);
      EXPECT_EQ(ca[i].after.status, cb[i].after.status);
      EXPECT_EQ(ca[i].after.pods_num, cb[i].after.pods_num);
    }
  }
  EXPECT_EQ(a.size(), 40u + 3 * (3 - 2));
}

TEST_F(fake_hss_fixture, churn_changes_the_listing_over_time) {
  srv.populate("p1", "0", 20);
  const auto before = jobs(0, 50).doc();
  srv.start_churn({.interval = 20ms, .seed = 5, .adds = 1, .modifies = 1, .removes = 1});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  json::value now = before;
  while (std::chrono::steady_clock::now() < deadline &&
         now.at("last_update_time") == before.at("last_update_time")) {
    std::this_thread::sleep_for(20ms);
    now = jobs(0, 50).doc();
  }
  srv.stop_churn();
  EXPECT_NE(now.at("last_update_time"), before.at("last_update_time"));
  EXPECT_NE(now.at("job_info_list"), before.at("job_info_list"));
  // Added jobs are the newest and read like CronJob runs.
  const std::string newest(now.at("job_info_list").at(0).at("name").as_string());
  EXPECT_NE(newest, std::string(before.at("job_info_list").at(0).at("name").as_string()));
}

// ------------------------------------------------------------ hss-fake

// Runs hss-fake with a pipe on stdout; never waits without a deadline.
class fake_process {
 public:
  explicit fake_process(std::vector<std::string> args) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> argv{const_cast<char*>(HSS_FAKE_PATH)};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(HSS_FAKE_PATH, argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~fake_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
  }

  std::string read_line(std::chrono::milliseconds timeout) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char ch;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      if (::read(out_, &ch, 1) != 1 || ch == '\n') return line;
      line.push_back(ch);
    }
    return line;
  }

  // The exit status after SIGTERM, or -1 if it did not exit in time.
  int terminate(std::chrono::milliseconds timeout) {
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

TEST(hss_fake_executable, serves_the_configured_inventory_and_stops_on_sigterm) {
  const hssjw::test::temp_dir scratch;
  const std::string dir = scratch.file("fake");
  fake_process p({"--port", "0", "--dir", dir, "--token", "tok", "--projects", "pa,pb", "--eps",
                  "0,e1", "--jobs", "15", "--seed", "4"});
  const std::string line = p.read_line(20s);
  const std::string prefix = "listening https://localhost:";
  ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
  const auto space = line.find(' ', prefix.size());
  const auto port = static_cast<std::uint16_t>(std::stoi(line.substr(prefix.size(), space)));
  EXPECT_EQ(line.substr(space), " ca=" + dir + "/ca.pem");

  client c(port, dir + "/ca.pem");
  const response r =
      c.get(jobs_target("pb", 0, 50, "&enterprise_project_id=all_granted_eps"), "tok");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.doc().at("total_num").as_int64(), 30);
  EXPECT_EQ(c.get(jobs_target("pa", 0), "wrong").status, 401u);
  EXPECT_EQ(p.terminate(10s), 0);
}

}  // namespace
}  // namespace fake_hss_test
