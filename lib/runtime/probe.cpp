// The probe: one authenticated first-page request per scope.
#include "runtime/probe.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "auth/aksk_signer.hpp"
#include "auth/factory.hpp"
#include "hss/client.hpp"
#include "hss/jobs_request.hpp"
#include "hss/page_decoder.hpp"
#include "runtime/client_setup.hpp"
#include "runtime/scope_list.hpp"
#include "walk/request_gate.hpp"

namespace hssjw {

namespace asio = boost::asio;

namespace {

struct probe_env {
  const config::config& cfg;
  https_client& client;
  authenticator& auth;
  request_gate& gate;
  std::FILE* out;
  bool all_ok = true;
};

void print_result(probe_env& env, const walk_target& t, const result<http_response>& r) {
  std::fprintf(env.out, "scope %s\n", t.scope.str().c_str());
  if (!r) {
    std::fprintf(env.out, "  error: %s\n", r.error().message().c_str());
    env.all_ok = false;
    return;
  }
  std::fprintf(env.out, "  http status: %u\n  request id: %s\n  latency: %lld ms\n", r->status,
               r->request_id.empty() ? "-" : r->request_id.c_str(),
               static_cast<long long>(r->latency.count()));
  if (auto skew = aksk::clock_skew(r->date, std::chrono::system_clock::now());
      skew && std::chrono::abs(*skew) > std::chrono::minutes(5))
    std::fprintf(env.out,
                 "  warning: local clock is %lld s off the server's Date (AK/SK signatures expire "
                 "at 15 min)\n",
                 static_cast<long long>(skew->count()));
  if (r->status != 200) {
    auto e = parse_api_error(r->status, r->body, r->request_id);
    std::fprintf(env.out, "  error code: %s\n  error message: %s\n", e.error_code.c_str(),
                 e.error_msg.c_str());
    env.all_ok = false;
    return;
  }
  page_decoder decoder(*t.resource, {});
  decoded_page page;
  if (auto decoded = decoder.decode(r->body, page); !decoded) {
    std::fprintf(env.out, "  error: %s\n", decoded.error().message().c_str());
    env.all_ok = false;
    return;
  }
  std::fprintf(env.out,
               "  total_num: %lld\n  last_update_time: %s\n  jobs on the first page: %zu\n",
               static_cast<long long>(page.total_num),
               page.last_update_time ? std::to_string(*page.last_update_time).c_str() : "-",
               page.jobs.size());
  if (page.rejected) {
    std::fprintf(env.out, "  rejected jobs: %zu (%s)\n", page.rejected, page.reject_reason.c_str());
    env.all_ok = false;
  }
}

asio::awaitable<void> probe_scope(probe_env& env, walk_target t) {
  auto permit = co_await env.gate.async_acquire(t.scope.str());
  http_request req;
  req.target = list_target(*t.resource, t.scope, t.filters, 0, env.cfg.poll.page_size);
  auto authorized =
      co_await env.auth.async_authorize(req, t.scope.project_id, env.client.host_header());
  if (!authorized) {
    std::fprintf(env.out, "scope %s\n  error: authentication failed: %s (see the log above)\n",
                 t.scope.str().c_str(), authorized.error().message().c_str());
    env.all_ok = false;
    co_return;
  }
  auto response = co_await env.client.async_request(std::move(req));
  // Tell the authenticator how it went, as the walker does: an AK/SK key
  // that is being rejected must stop signing before the gateway locks it.
  if (response && response->status < 300) {
    env.auth.on_accepted(t.scope.project_id);
  } else if (response) {
    auto e = parse_api_error(response->status, response->body, response->request_id);
    if (is_auth_rejected(e)) env.auth.on_rejected(t.scope.project_id, e);
  }
  print_result(env, t, response);
}

asio::awaitable<void> probe_all(probe_env& env) {
  for (auto& t : scope_targets(env.cfg)) co_await probe_scope(env, t);
}

}  // namespace

int run_probe(const config::config& cfg, std::shared_ptr<spdlog::logger> log, std::FILE* out) {
  asio::io_context ioc;
  https_client client(ioc.get_executor(), client_options_for(cfg, cfg.endpoint));
  auto made = make_authenticator(cfg, ioc.get_executor(), log);
  if (!made) {
    std::fprintf(out, "probe: auth: %s\n", made.error().message().c_str());
    return 1;
  }
  auto& auth = *made;
  request_gate gate(ioc.get_executor(), cfg.poll.rate, cfg.poll.max_in_flight);
  probe_env env{cfg, client, *auth, gate, out};
  std::exception_ptr failure;
  asio::co_spawn(ioc, probe_all(env), [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) {
    std::fprintf(out, "probe: unexpected error\n");
    return 1;
  }
  std::fprintf(out, "probe: %s\n", env.all_ok ? "every scope answered" : "some scopes failed");
  return env.all_ok ? 0 : 1;
}

}  // namespace hssjw
