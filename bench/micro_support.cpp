// Builds the micro-benchmarks' inputs from the fake HSS's synthetic jobs.
#include "micro_support.hpp"

#include <boost/json/serialize.hpp>
#include <map>
#include <memory>
#include <stdexcept>

#include "fake_hss/churn.hpp"
#include "fake_hss/protocol.hpp"

namespace hssjw::bench {

namespace {

const std::vector<fake_hss::job>& synthetic(std::size_t n) {
  static std::map<std::size_t, std::vector<fake_hss::job>> cache;
  auto it = cache.find(n);
  if (it == cache.end()) it = cache.emplace(n, fake_hss::synthetic_jobs("p1", "0", n)).first;
  return it->second;
}

std::string render(const std::vector<fake_hss::job>& all, std::size_t offset,
                   std::size_t per_page) {
  fake_hss::page pg;
  pg.total_num = static_cast<std::int64_t>(all.size());
  pg.last_update_time = 1'720'765'124'000;
  for (std::size_t i = offset; i < all.size() && i < offset + per_page; ++i)
    pg.jobs.push_back(std::make_shared<const fake_hss::job>(all[i]));
  return boost::json::serialize(fake_hss::page_json(pg));
}

void decode_into(page_decoder& dec, const std::string& body, std::vector<keyed_job>& out) {
  decoded_page page;
  if (auto decoded = dec.decode(body, page); !decoded)
    throw std::runtime_error("bench page did not decode: " + decoded.error().message());
  for (auto& j : page.jobs) out.push_back(std::move(j));
}

}  // namespace

std::string page_body(std::size_t total, std::size_t offset, std::size_t per_page) {
  return render(synthetic(total), offset, per_page);
}

const std::vector<keyed_job>& decoded_jobs(std::size_t n) {
  static std::map<std::size_t, std::vector<keyed_job>> cache;
  if (auto it = cache.find(n); it != cache.end()) return it->second;
  page_decoder dec(jobs_resource(), {});
  std::vector<keyed_job> out;
  out.reserve(n);
  const auto& all = synthetic(n);
  for (std::size_t off = 0; off < n; off += 200) decode_into(dec, render(all, off, 200), out);
  return cache.emplace(n, std::move(out)).first->second;
}

scope_state snapshot_of(const std::vector<keyed_job>& jobs) {
  scope_state s;
  s.jobs.reserve(jobs.size());
  for (const auto& j : jobs) s.jobs.emplace(key_hash_of(j.key), digest_of(j.record));
  s.meta.has_baseline = true;
  s.meta.last_total_num = static_cast<std::int64_t>(jobs.size());
  return s;
}

std::vector<keyed_job> with_changes(const std::vector<keyed_job>& jobs, std::size_t every) {
  std::vector<fake_hss::job> changed;
  const auto& all = synthetic(jobs.size());
  for (std::size_t i = 0; i < all.size(); i += every) {
    auto j = all[i];
    j.status = j.status == "Running" ? "Failed" : "Running";
    changed.push_back(std::move(j));
  }
  page_decoder dec(jobs_resource(), {});
  std::vector<keyed_job> fresh;
  for (std::size_t off = 0; off < changed.size(); off += 200)
    decode_into(dec, render(changed, off, 200), fresh);
  std::vector<keyed_job> out = jobs;
  for (std::size_t k = 0; k < fresh.size(); ++k) out[k * every] = std::move(fresh[k]);
  return out;
}

stored_job_fn bodies_of(const std::vector<keyed_job>& jobs) {
  auto stored = std::make_shared<std::map<std::uint64_t, stored_job>>();
  for (const auto& j : jobs) stored->emplace(key_hash_of(j.key), stored_job{j.key, j.record.body});
  return [stored](std::uint64_t key_hash, bool with_body) -> std::optional<stored_job> {
    auto it = stored->find(key_hash);
    if (it == stored->end()) return std::nullopt;
    return stored_job{it->second.key, with_body ? it->second.body : std::string()};
  };
}

}  // namespace hssjw::bench
