// Synthetic inventories and churn for the fake HSS (see churn.hpp). Choices
// use rng() % n rather than std::uniform_int_distribution, whose output is
// not specified across standard libraries: seeds must replay anywhere.
#include "fake_hss/churn.hpp"

#include <array>
#include <map>
#include <string_view>
#include <utility>

namespace fake_hss {

namespace {

constexpr std::array<std::string_view, 8> cronjobs{
    "backup", "report", "cleanup", "sync", "etl-load", "db-vacuum", "cert-check", "log-rotate"};
constexpr std::array<std::string_view, 5> namespaces{"default", "kube-system", "batch", "etl",
                                                     "monitoring"};
constexpr std::array<std::string_view, 3> clusters{"cluster-01", "cluster-02", "cluster-03"};
constexpr std::array<std::string_view, 4> images{"busybox:1.36", "alpine:3.19",
                                                 "postgres:16-alpine", "python:3.12-slim"};
constexpr std::int64_t newest_synthetic_ms = 1720765124000;
constexpr std::int64_t minute_ms = 60'000;

template <class Array>
std::string any_of(const Array& a, std::uint64_t r) {
  return std::string(a[r % a.size()]);
}

job cron_job(std::string project_id, std::string eps, std::string cluster, std::string ns,
             const std::string& cron, std::uint64_t minute, std::uint64_t r) {
  job j;
  j.project_id = std::move(project_id);
  j.eps = std::move(eps);
  j.cluster = std::move(cluster);
  j.ns = std::move(ns);
  j.name = cron + "-" + std::to_string(minute);
  j.status = (r % 10 == 0) ? "Failed" : "Running";
  j.pods_num = static_cast<std::int64_t>((r >> 8) % 4) + 1;
  j.image = any_of(images, r >> 16);
  j.labels = {{"app", cron}, {"app.kubernetes.io/managed-by", "cronjob"}};
  return j;
}

}  // namespace

std::string_view to_string(churn_change::kind k) {
  switch (k) {
    case churn_change::kind::added:
      return "added";
    case churn_change::kind::modified:
      return "modified";
    case churn_change::kind::removed:
      return "removed";
  }
  return "unknown";
}

namespace {

// Clusters belong to one EP in HSS, so jobs of different EPs never share a
// (cluster, namespace, name) key: an all_granted_eps listing has no twins.
std::string cluster_of(const std::string& eps, std::uint64_t r) {
  std::string c = any_of(clusters, r);
  return eps == default_eps ? c : eps + "-" + c;
}

std::uint64_t scope_seed(const std::string& project_id, const std::string& eps,
                         std::uint64_t seed) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across runs and libraries
  for (const std::string* s : {&project_id, &eps})
    for (unsigned char c : *s + '\0') h = (h ^ c) * 1099511628211ULL;
  return h ^ seed;
}

}  // namespace

std::vector<job> synthetic_jobs(const std::string& project_id, const std::string& eps,
                                std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(scope_seed(project_id, eps, seed));
  std::vector<job> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    // Job i is (n - 1 - i) minutes older than the newest; the minute in the
    // name is what the CronJob controller would put there, and unique.
    const std::int64_t created =
        newest_synthetic_ms - static_cast<std::int64_t>(n - 1 - i) * minute_ms;
    const std::uint64_t r = rng();
    job j = cron_job(project_id, eps, cluster_of(eps, r >> 24), any_of(namespaces, r >> 32),
                     any_of(cronjobs, r >> 40), static_cast<std::uint64_t>(created / minute_ms), r);
    j.create_time = created;
    j.execute_time = created + static_cast<std::int64_t>((r >> 48) % 5000);
    out.push_back(std::move(j));
  }
  return out;
}

churner::churner(churn_options o) : opts_(o), rng_(o.seed) {}

std::uint64_t churner::pick(std::uint64_t n) { return rng_() % n; }

std::vector<churn_change> churner::step(inventory& inv) {
  std::vector<churn_change> changes;
  const auto scopes = inv.scopes();
  if (scopes.empty()) return changes;
  std::map<std::pair<std::string, std::string>, std::size_t> fresh;  // added this step, per scope
  for (std::size_t i = 0; i < opts_.adds; ++i) {
    const auto& [project, eps] = scopes[pick(scopes.size())];
    const std::uint64_t r = rng_();
    // A new run lands in a cluster/namespace already in use, like a CronJob.
    std::string cluster = cluster_of(eps, r >> 24), ns = any_of(namespaces, r >> 32);
    if (const std::size_t n = inv.count(project, eps)) {
      const job_ptr like = inv.at(project, eps, pick(n));
      cluster = like->cluster;
      ns = like->ns;
    }
    job j = cron_job(project, eps, cluster, ns, any_of(cronjobs, r >> 40), next_id_++, r);
    j.status = "Running";
    if (inv.upsert(j)) ++fresh[{project, eps}];
    changes.push_back(
        {churn_change::kind::added, {}, *inv.find(project, eps, j.cluster, j.ns, j.name)});
  }
  for (std::size_t i = 0; i < opts_.modifies; ++i) {
    const auto& [project, eps] = scopes[pick(scopes.size())];
    const std::size_t n = inv.count(project, eps);
    if (n == 0) continue;
    job before = *inv.at(project, eps, pick(n));
    job after = before;
    if (after.status == "Running" && rng_() % 2 == 0) {
      after.status = "Failed";
    } else {
      after.pods_num = after.pods_num == 0 ? 1 : after.pods_num + (rng_() % 2 == 0 ? 1 : -1);
    }
    inv.upsert(after);
    changes.push_back({churn_change::kind::modified, std::move(before), std::move(after)});
  }
  for (std::size_t i = 0; i < opts_.removes; ++i) {
    const auto& [project, eps] = scopes[pick(scopes.size())];
    // Runs added in this step sit at the front; deleting one in the same
    // step would be a change no client could ever observe.
    const std::size_t n = inv.count(project, eps), skip = fresh[{project, eps}];
    if (n <= skip) continue;
    job gone = *inv.at(project, eps, skip + pick(n - skip));
    inv.erase(gone.project_id, gone.eps, gone.cluster, gone.ns, gone.name);
    changes.push_back({churn_change::kind::removed, std::move(gone), {}});
  }
  return changes;
}

}  // namespace fake_hss
