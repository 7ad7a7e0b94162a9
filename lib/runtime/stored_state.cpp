// Snapshots and fingerprints from the state store.
#include "runtime/stored_state.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "hss/page_decoder.hpp"
#include "runtime/scope_list.hpp"

namespace hssjw {

std::string fingerprint_basis(const config::config& c) {
  std::vector<std::string> ignore = c.poll.ignore_fields;
  std::sort(ignore.begin(), ignore.end());
  ignore.erase(std::unique(ignore.begin(), ignore.end()), ignore.end());
  std::string basis = "v1";
  for (const auto& f : ignore) basis += "\n" + f;
  return basis;
}

void refresh_stored_fingerprints(state_store& store, const config::config& c, spdlog::logger& log) {
  const std::string basis = fingerprint_basis(c);
  if (store.fingerprint_basis() == basis) return;
  page_decoder decoder(jobs_resource(), c.poll.ignore_fields);
  const auto started = std::chrono::steady_clock::now();
  std::size_t rewritten = 0;
  auto r = store.rewrite_fingerprints(basis, [&](std::string_view body) {
    ++rewritten;
    return decoder.fingerprint_of(body);
  });
  if (!r) {
    log.warn(
        "state: could not store fingerprints for this poll.ignore_fields ({}); they are "
        "recomputed at the next start: {}",
        r.error().code().message(), r.error().message());
    return;
  }
  // Only news when there was something to rewrite (not on every fresh start).
  log.log(rewritten ? spdlog::level::info : spdlog::level::debug,
          "state: {} stored fingerprints rewritten for this poll.ignore_fields in {} ms", rewritten,
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                started)
              .count());
}

void reload_fingerprints(state_store& store, const config::config& c, spdlog::logger& log,
                         const std::vector<std::unique_ptr<scope_runtime>>& scopes) {
  refresh_stored_fingerprints(store, c, log);
  auto all = store.load_all();
  if (!all) {
    log.warn(
        "reload: cannot read the recomputed fingerprints ({}); the differ checks fields "
        "until the next start",
        all.error().message());
    return;
  }
  std::map<scope_id, job_map> stored;
  for (auto& st : *all) stored.emplace(st.scope, std::move(st.state.jobs));
  for (auto& s : scopes) {
    auto it = stored.find(s->target.scope);
    if (it == stored.end()) continue;
    for (auto& [hash, digest] : s->state.jobs)
      if (auto found = it->second.find(hash); found != it->second.end())
        digest.fingerprint = found->second.fingerprint;
  }
}

std::vector<std::unique_ptr<scope_runtime>> load_scopes(const config::config& c,
                                                        std::vector<stored_scope> stored,
                                                        spdlog::logger& log) {
  std::map<scope_id, scope_state> by_id;
  for (auto& s : stored) by_id.emplace(s.scope, std::move(s.state));
  std::vector<std::unique_ptr<scope_runtime>> scopes;
  for (auto& target : scope_targets(c)) {
    auto s = std::make_unique<scope_runtime>();
    s->target = std::move(target);
    if (auto it = by_id.find(s->target.scope); it != by_id.end()) {
      s->state = std::move(it->second);
      log.info("scope {}: {} jobs loaded from state", s->target.scope.str(), s->state.jobs.size());
    }
    scopes.push_back(std::move(s));
  }
  std::size_t unconfigured = by_id.size();
  for (auto& s : scopes)
    if (by_id.contains(s->target.scope)) --unconfigured;
  if (unconfigured)
    log.info(
        "{} stored scope(s) are no longer configured; their state is kept (hss-jobwatchd --prune "
        "deletes it)",
        unconfigured);
  return scopes;
}

}  // namespace hssjw
