// Diffing a walk against the previous snapshot: added / modified /
// replaced from anything seen, removed only from complete walks, behind
// the removal guard and the confirmation count.
#include "walk/differ.hpp"

#include "hss/job_fields.hpp"

#include <boost/json/parse.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include <algorithm>

namespace hssjw {

namespace json = boost::json;

namespace {

change_event make_event(event_type type, const scope_id& scope, const job_key& key,
                        std::int64_t now_ms) {
  change_event e;
  e.type = type;
  e.time_ms = now_ms;
  e.scope = scope;
  e.key = key;
  return e;
}

json::object parse_object(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  return !ec && v.is_object() ? std::move(v.get_object()) : json::object();
}

bool is_replacement(const job_digest& before, const job_record& after) {
  return before.create_time && after.create_time && *before.create_time != *after.create_time;
}

class differ {
 public:
  differ(const scope_id& scope, const scope_state& prev, const diff_options& opts,
         std::int64_t now, const stored_body_fn& stored_body)
      : scope_(scope), prev_(prev), opts_(opts), now_(now), stored_body_(stored_body) {}

  diff_outcome run(const walk_observation& seen) {
    out_.baseline = !prev_.meta.has_baseline;
    if (out_.baseline && !seen.complete) return std::move(out_);
    seen_.reserve(std::min(prev_.jobs.size(), seen.jobs.size() + seen.unchanged.size()));
    seen_.insert(seen.unchanged.begin(), seen.unchanged.end());
    for (const auto& job : seen.jobs) visit_seen(job);
    clear_pending_seen();
    if (seen.complete) infer_removals(seen);
    if (!missing_.empty()) {
      diff_outcome failed;
      failed.error = "the stored body of " + missing_ + " cannot be read";
      return failed;
    }
    out_.delta.meta = prev_.meta;
    if (seen.complete) {
      out_.delta.meta.has_baseline = true;
      out_.delta.meta.last_total_num = seen.total_num;
      out_.delta.meta.last_update_time = seen.last_update_time;
    }
    return std::move(out_);
  }

 private:
  // A job awaiting removal that was seen again, changed or not, is not
  // going away.
  void clear_pending_seen() {
    for (const auto& [key, p] : prev_.pending) {
      auto it = prev_.jobs.find(key);
      if (it != prev_.jobs.end() && seen_.contains(&it->second)) out_.delta.pending_cleared.push_back(key);
    }
  }

  void visit_seen(const keyed_job& job) {
    auto it = prev_.jobs.find(job.key);
    if (it != prev_.jobs.end()) seen_.insert(&it->second);
    if (it == prev_.jobs.end()) {
      if (!out_.baseline || opts_.baseline_events) {
        auto e = make_event(event_type::added, scope_, job.key, now_);
        e.job = job.record.body;
        out_.events.push_back(std::move(e));
      }
      out_.delta.upserts.push_back(job);
      return;
    }
    const job_digest& before = it->second;
    if (before.fingerprint == job.record.fingerprint && !is_replacement(before, job.record)) return;
    std::string before_body = body_of(job.key);
    auto changed = changed_fields(parse_object(before_body), parse_object(job.record.body));
    bool replaced = is_replacement(before, job.record);
    bool relevant = replaced || std::any_of(changed.begin(), changed.end(), [&](auto& f) {
                      return std::find(opts_.ignore_fields.begin(), opts_.ignore_fields.end(),
                                       f) == opts_.ignore_fields.end();
                    });
    if (!relevant) return;  // only ignored fields differ: no event, snapshot kept
    auto e = make_event(replaced ? event_type::replaced : event_type::modified, scope_, job.key,
                        now_);
    e.job = job.record.body;
    e.previous = std::move(before_body);
    e.changed = std::move(changed);
    out_.events.push_back(std::move(e));
    out_.delta.upserts.push_back(job);
  }

  void infer_removals(const walk_observation& seen) {
    // Every previous job seen (seen_ holds distinct snapshot entries): no
    // removal to infer, and no scan of the snapshot (the steady case).
    if (seen_.size() == prev_.jobs.size()) return;
    std::vector<std::pair<const job_key*, pending_removal>> due;
    std::size_t fresh = 0;
    for (const auto& [key, digest] : prev_.jobs) {
      if (seen_.contains(&digest)) continue;
      pending_removal p;
      if (auto pit = prev_.pending.find(key); pit != prev_.pending.end()) p = pit->second;
      ++p.misses;
      if (p.misses < opts_.removal_confirmations) {
        out_.delta.pending_set.emplace_back(key, p);
        ++out_.confirmations_pending;
        continue;
      }
      if (!p.held) ++fresh;
      due.emplace_back(&key, p);
    }
    bool guard = prev_.jobs.size() >= 10 &&
                 static_cast<double>(fresh) > opts_.removal_guard * prev_.jobs.size();
    std::sort(due.begin(), due.end(), [](auto& a, auto& b) { return *a.first < *b.first; });
    for (auto& [key, p] : due) {
      if (guard && !p.held) {  // hold until the next complete walk confirms
        p.held = true;
        out_.delta.pending_set.emplace_back(*key, p);
        ++out_.held_removals;
        continue;
      }
      emit_removal(*key);
    }
    (void)seen;
  }

  void emit_removal(const job_key& key) {
    auto e = make_event(event_type::removed, scope_, key, now_);
    e.previous = body_of(key);
    out_.events.push_back(std::move(e));
    out_.delta.deletions.push_back(key);
    if (prev_.pending.contains(key)) out_.delta.pending_cleared.push_back(key);
  }

  // A body the events need; a missing one fails the whole diff (run()).
  std::string body_of(const job_key& key) {
    if (auto body = stored_body_(key)) return std::move(*body);
    if (missing_.empty()) missing_ = "job " + key.cluster + "/" + key.ns + "/" + key.name;
    return {};
  }

  const scope_id& scope_;
  const scope_state& prev_;
  const diff_options& opts_;
  std::int64_t now_;
  const stored_body_fn& stored_body_;
  diff_outcome out_;
  std::string missing_;
  // The snapshot entries seen in this walk, by address (the snapshot is
  // not changed while it is diffed, so its elements stay put): one pointer
  // hash per job, instead of hashing the three key strings again for the
  // removal scan.
  boost::unordered_flat_set<const job_digest*> seen_;
};

}  // namespace

diff_outcome diff_scope(const scope_id& scope, const scope_state& previous,
                        const walk_observation& seen, const diff_options& opts,
                        std::int64_t now_ms, const stored_body_fn& stored_body) {
  return differ(scope, previous, opts, now_ms, stored_body).run(seen);
}

}  // namespace hssjw
