// One walk of one scope over the HSS client (see walker.hpp).
#include "walk/walker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <random>

#include "auth/authenticator.hpp"
#include "hss/client.hpp"
#include "hss/jobs_request.hpp"
#include "hss/page_decoder.hpp"
#include "walk/page_retry.hpp"
#include "walk/request_gate.hpp"
#include "walk/walk_observer.hpp"
#include "walk/walk_plan.hpp"

namespace hssjw {

namespace asio = boost::asio;

struct walker::page_result {
  std::int64_t offset = 0;
  bool ok = false;
  decoded_page page;
  std::string error;
  std::optional<api_error> api;
};

struct walker::walk_run {
  walk_target target;
  walk_settings settings;
  page_decoder decoder;
  known_job_fn known;  // in the previous snapshot, unchanged: marks it
  std::uint32_t requests = 0;
};

namespace {

// The new and changed jobs a walk saw (unchanged ones are marked in the
// snapshot instead): each key once, the last version fetched (pages
// overlap and repairs re-read), in the order first seen. The jobs live in
// a vector and a set of their positions finds them by key, so no key is
// copied and no node allocated per job.
class seen_jobs {
 public:
  seen_jobs() = default;
  seen_jobs(const seen_jobs&) = delete;  // index_ points at jobs_
  seen_jobs& operator=(const seen_jobs&) = delete;

  void reserve(std::size_t n) {
    jobs_.reserve(n);
    index_.reserve(n);
  }
  void add(keyed_job&& job) {
    if (auto it = index_.find(job); it != index_.end()) {
      jobs_[*it].record = std::move(job.record);
      return;
    }
    jobs_.push_back(std::move(job));
    index_.insert(static_cast<std::uint32_t>(jobs_.size() - 1));
  }
  std::vector<keyed_job> take() {
    index_.clear();
    return std::move(jobs_);
  }

 private:
  // Hash and equality of positions by the job at that position, and of a
  // job against a position (heterogeneous lookup); the decoder's key hash.
  struct by_key {
    using is_transparent = void;
    using is_avalanching = void;
    const std::vector<keyed_job>* jobs;
    std::size_t operator()(std::uint32_t i) const { return key_hash_of((*jobs)[i]); }
    std::size_t operator()(const keyed_job& j) const { return key_hash_of(j); }
    bool operator()(std::uint32_t a, std::uint32_t b) const { return a == b; }
    bool operator()(const keyed_job& j, std::uint32_t i) const { return (*jobs)[i].key == j.key; }
    bool operator()(std::uint32_t i, const keyed_job& j) const { return (*jobs)[i].key == j.key; }
  };
  std::vector<keyed_job> jobs_;
  boost::unordered_flat_set<std::uint32_t, by_key, by_key> index_{0, by_key{&jobs_},
                                                                  by_key{&jobs_}};
};

asio::awaitable<void> throw_if_cancelled() {
  auto cs = co_await asio::this_coro::cancellation_state;
  if (cs.cancelled() != asio::cancellation_type::none)
    throw boost::system::system_error(asio::error::operation_aborted);
}

}  // namespace

bool may_trust_first_page(const walk_settings& s, const scope_meta& previous, std::int64_t total,
                          std::optional<std::int64_t> last_update_time) {
  return s.trust_last_update_time && previous.has_baseline && last_update_time &&
         previous.last_update_time == last_update_time && previous.last_total_num == total &&
         previous.walks_since_full + 1 < s.full_walk_every;
}

walker::transport walker::https_transport(https_client& client) {
  // Not a coroutine: it returns the client's own awaitable.
  return {[&client](http_request req) { return client.async_request(std::move(req)); },
          client.host_header()};
}

walker::walker(transport t, authenticator& auth, request_gate& gate,
               std::shared_ptr<spdlog::logger> log)
    : transport_(std::move(t)), auth_(auth), gate_(gate), log_(std::move(log)) {}

walker::walker(https_client& client, authenticator& auth, request_gate& gate,
               std::shared_ptr<spdlog::logger> log)
    : walker(https_transport(client), auth, gate, std::move(log)) {}

// One page, with retries as page_retry decides (transport errors,
// timeouts, 5xx and malformed bodies back off; throttling slows the shared
// budget; a rejected credential is reported to the authenticator and
// retried once). This coroutine only does what it is told.
asio::awaitable<walker::page_result> walker::async_fetch(walk_run& run, std::int64_t offset) {
  page_result out;
  out.offset = offset;
  const auto& t = run.target;
  page_retry retry(run.settings.retry);
  std::uniform_real_distribution<double> draw(0.0, 1.0);
  for (;;) {
    auto permit = co_await gate_.async_acquire(t.scope.str());
    http_request req;
    req.target = list_target(*t.resource, t.scope, t.filters, offset, run.settings.page_size);
    auto authorized = co_await auth_.async_authorize(req, t.scope.project_id, transport_.host);
    if (!authorized) {  // nothing a retry could change
      out.error = "no usable credentials (the auth log line above says why)";
      co_return out;
    }
    ++run.requests;
    const auto sent = std::chrono::steady_clock::now();
    auto response = co_await transport_.send(std::move(req));
    permit.reset();
    if (observer_)
      observer_->on_request(t.scope, response ? response->status : 0,
                            std::chrono::steady_clock::now() - sent);
    co_await throw_if_cancelled();
    page_attempt attempt{page_attempt::kind::transport_error};
    api_error e;
    if (!response) {
      out.error = response.error().message();
    } else if (response->status == 200) {
      auth_.on_accepted(t.scope.project_id);
      if (auto decoded = run.decoder.decode(response->body, out.page, &run.known)) {
        attempt.what = page_attempt::kind::page;
      } else {
        out.error = decoded.error().message() + " (X-Request-Id " + response->request_id + ")";
        attempt.what = page_attempt::kind::bad_body;
      }
    } else {
      e = parse_api_error(response->status, response->body, response->request_id);
      out.error = e.to_string();
      out.api = e;
      attempt = page_attempt::answer(e, *response);
    }
    const auto d = retry.on_attempt(attempt, draw(rng_), std::chrono::system_clock::now());
    if (d.throttled) gate_.on_throttled(d.retry_after);
    if (d.rejected) auth_.on_rejected(t.scope.project_id, e);
    switch (d.next) {
      case page_retry::action::done:
        out.ok = true;
        out.api.reset();
        if (observer_) observer_->on_page(t.scope);
        co_return out;
      case page_retry::action::give_up:
        co_return out;
      case page_retry::action::retry_now:  // the gate itself delays it
        if (observer_) observer_->on_retry(t.scope);
        continue;
      case page_retry::action::retry_after:
        break;
    }
    if (observer_) observer_->on_retry(t.scope);
    log_->debug("scope {}: page at offset {} failed ({}); retry {} in {} ms", t.scope.str(), offset,
                out.error, d.retry, d.delay.count());
    asio::steady_timer timer(co_await asio::this_coro::executor, d.delay);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<std::vector<walker::page_result>> walker::async_fetch_batch(
    walk_run& run, std::vector<std::int64_t> offsets) {
  std::vector<page_result> results;
  if (offsets.size() == 1) {
    results.push_back(co_await async_fetch(run, offsets[0]));
    co_return results;
  }
  auto ex = co_await asio::this_coro::executor;
  using op_type = decltype(asio::co_spawn(ex, async_fetch(run, 0), asio::deferred));
  std::vector<op_type> ops;
  for (auto offset : offsets)
    ops.push_back(asio::co_spawn(ex, async_fetch(run, offset), asio::deferred));
  auto [order, errors, values] =
      co_await asio::experimental::make_parallel_group(std::move(ops))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  co_return std::move(values);
}

asio::awaitable<walk_outcome> walker::async_walk(walk_target target, walk_settings settings,
                                                 scope_state& previous) {
  walk_outcome out;
  const std::uint32_t number = previous.begin_walk();
  out.observation.walk_number = number;
  std::size_t& marked = out.observation.unchanged;
  walk_run run{target, settings, page_decoder(*target.resource, settings.ignore_fields),
               [&previous, number, &marked](std::uint64_t key_hash, const job_digest& digest) {
                 return mark_if_unchanged(previous, number, key_hash, digest, marked);
               }};
  walk_plan plan(settings.page_size);
  seen_jobs seen;  // new or changed
  bool first = true;
  for (;;) {
    std::vector<std::int64_t> batch;
    while (batch.size() < std::max<std::uint32_t>(1, settings.pages_in_flight)) {
      auto next = plan.next_request();
      if (!next) break;
      batch.push_back(*next);
    }
    if (batch.empty()) break;
    auto results = co_await async_fetch_batch(run, std::move(batch));
    for (auto& r : results) {
      if (!r.ok) {
        out.status = walk_status::failed;
        out.reason = "page at offset " + std::to_string(r.offset) + ": " + r.error;
        out.api = std::move(r.api);
        out.requests = run.requests;
        co_return out;
      }
      auto& page = r.page;
      if (first && r.offset == 0) {
        first = false;
        out.observation.last_update_time = page.last_update_time;
        // Sized once from the first total (bounded by what offset paging can
        // reach): rehashing a million keys mid-walk costs more than the walk.
        // Jobs the snapshot has are expected unchanged (marked there), the
        // rest new.
        const auto total = static_cast<std::size_t>(std::clamp<std::int64_t>(
            page.total_num, 0, walk_plan::max_offset + settings.page_size));
        seen.reserve(total - std::min(total, previous.jobs.size()));
        if (may_trust_first_page(settings, previous.meta, page.total_num, page.last_update_time))
          plan.stop_after_first_page();
      }
      out.rejected += page.rejected;
      if (page.rejected && out.reason.empty())
        out.reason =
            "rejected job at offset " + std::to_string(r.offset) + ": " + page.reject_reason;
      std::vector<std::uint64_t> ids;
      ids.reserve(page.listed.size() + page.rejected);
      for (const auto& l : page.listed) ids.push_back(listing_identity(l.key_hash, l.create_time));
      for (auto& job : page.jobs) seen.add(std::move(job));
      ids.resize(ids.size() + page.rejected, 0);
      plan.on_page(r.offset, page.total_num, std::move(ids));
      out.observation.total_num = page.total_num;
    }
    if (plan.exceeds_offset_limit()) {
      out.status = walk_status::failed;
      out.reason = plan.describe() + "; add filters to the project";
      out.requests = run.requests;
      co_return out;
    }
  }
  out.requests = run.requests;
  out.repairs = plan.repairs_issued();
  out.observation.jobs = seen.take();
  if (plan.complete() && out.rejected == 0) {
    out.status = walk_status::complete;
    out.observation.complete = true;
  } else if (plan.stopped_early()) {
    out.status = walk_status::unchanged;
  } else {
    out.status = walk_status::incomplete;
    if (out.reason.empty()) out.reason = plan.describe();
  }
  co_return out;
}

}  // namespace hssjw
