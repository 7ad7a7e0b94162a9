// Diffing a walk against the previous snapshot: added / modified /
// replaced from anything seen, removed only from complete walks, behind
// the removal guard and the confirmation count.
#include "walk/differ.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include "hss/job_fields.hpp"

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
  const auto created = before.create_time();
  return created && after.create_time && *created != *after.create_time;
}

class differ {
 public:
  differ(const scope_id& scope, const scope_state& prev, const diff_options& opts, std::int64_t now,
         const stored_job_fn& stored)
      : scope_(scope), prev_(prev), opts_(opts), now_(now), stored_(stored) {}

  // `owned`: the same observation, whose jobs may be moved into the delta.
  diff_outcome run(const walk_observation& seen, walk_observation* owned) {
    out_.baseline = !prev_.meta.has_baseline;
    if (out_.baseline && !seen.complete) return std::move(out_);
    walk_ = seen.walk_number;
    seen_count_ = seen.unchanged;
    // Every seen job may be new (a baseline: a million): no regrowth.
    out_.delta.upserts.reserve(seen.jobs.size());
    out_.events.reserve(seen.jobs.size());
    for (std::size_t i = 0; i < seen.jobs.size(); ++i)
      visit_seen(seen.jobs[i], owned ? &owned->jobs[i] : nullptr);
    clear_pending_seen();
    if (seen.complete && error_.empty()) infer_removals();
    if (!error_.empty()) {
      diff_outcome failed;
      failed.error = std::move(error_);
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
  // Seen unchanged: marked by this walk.
  bool marked(const job_digest& d) const { return walk_ != 0 && d.seen_in_walk == walk_; }
  // Seen unchanged, or changed (found from `jobs`).
  bool was_seen(std::uint64_t hash, const job_digest& d) const {
    return marked(d) || changed_.contains(hash);
  }

  // A job awaiting removal that was seen again, changed or not, is not
  // going away.
  void clear_pending_seen() {
    for (const auto& [key, p] : prev_.pending) {
      const auto hash = key_hash_of(key);
      auto it = prev_.jobs.find(hash);
      if (it != prev_.jobs.end() && was_seen(hash, it->second))
        out_.delta.pending_cleared.push_back(key);
    }
  }

  // `owned` is `job` when it may be moved from (it is then kept once, in
  // the delta: a baseline keeps a million of them).
  void visit_seen(const keyed_job& job, keyed_job* owned) {
    const auto hash = key_hash_of(job);
    auto it = prev_.jobs.find(hash);
    if (it == prev_.jobs.end()) {
      if (!out_.baseline || opts_.baseline_events) {
        auto e = make_event(event_type::added, scope_, job.key, now_);
        e.job = job.record.body;
        out_.events.push_back(std::move(e));
      }
      keep(job, owned);
      return;
    }
    if (!marked(it->second) && changed_.insert(hash).second) ++seen_count_;
    const job_digest& before = it->second;
    if (before.fingerprint == job.record.fingerprint && !is_replacement(before, job.record)) return;
    std::string before_body = body_of(hash, job.key);
    auto changed = changed_fields(parse_object(before_body), parse_object(job.record.body));
    bool replaced = is_replacement(before, job.record);
    bool relevant = replaced || std::any_of(changed.begin(), changed.end(), [&](auto& f) {
                      return std::find(opts_.ignore_fields.begin(), opts_.ignore_fields.end(), f) ==
                             opts_.ignore_fields.end();
                    });
    if (!relevant) return;  // only ignored fields differ: no event, snapshot kept
    auto e =
        make_event(replaced ? event_type::replaced : event_type::modified, scope_, job.key, now_);
    e.job = job.record.body;
    e.previous = std::move(before_body);
    e.changed = std::move(changed);
    out_.events.push_back(std::move(e));
    keep(job, owned);
  }

  void keep(const keyed_job& job, keyed_job* owned) {
    if (owned)
      out_.delta.upserts.push_back(std::move(*owned));
    else
      out_.delta.upserts.push_back(job);
  }

  struct due_removal {
    std::uint64_t hash;
    job_key key;
    pending_removal pending;
  };

  void infer_removals() {
    // Every previous job seen: no removal to infer, and no scan of the
    // snapshot (the steady case).
    if (seen_count_ == prev_.jobs.size()) return;
    std::vector<due_removal> due;
    std::size_t fresh = 0;
    for (const auto& [hash, digest] : prev_.jobs) {
      if (was_seen(hash, digest)) continue;
      auto stored = stored_(hash, false);  // the key: the snapshot has only its hash
      if (!stored) {
        fail("the stored job with key hash " + key_hash_hex(hash) + " cannot be read");
        return;
      }
      pending_removal p;
      if (auto pit = prev_.pending.find(stored->key); pit != prev_.pending.end()) p = pit->second;
      ++p.misses;
      if (p.misses < opts_.removal_confirmations) {
        out_.delta.pending_set.emplace_back(std::move(stored->key), p);
        ++out_.confirmations_pending;
        continue;
      }
      if (!p.held) ++fresh;
      due.push_back({hash, std::move(stored->key), p});
    }
    bool guard = prev_.jobs.size() >= 10 &&
                 static_cast<double>(fresh) > opts_.removal_guard * prev_.jobs.size();
    std::sort(due.begin(), due.end(), [](auto& a, auto& b) { return a.key < b.key; });
    for (auto& d : due) {
      if (guard && !d.pending.held) {  // hold until the next complete walk confirms
        d.pending.held = true;
        out_.delta.pending_set.emplace_back(std::move(d.key), d.pending);
        ++out_.held_removals;
        continue;
      }
      emit_removal(d.hash, d.key);
    }
  }

  void emit_removal(std::uint64_t hash, const job_key& key) {
    auto e = make_event(event_type::removed, scope_, key, now_);
    e.previous = body_of(hash, key);
    out_.events.push_back(std::move(e));
    out_.delta.deletions.push_back(key);
    if (prev_.pending.contains(key)) out_.delta.pending_cleared.push_back(key);
  }

  // The stored body of `key` (whose hash is `hash`). A missing one, or one
  // stored under another key with the same hash, fails the whole diff.
  std::string body_of(std::uint64_t hash, const job_key& key) {
    auto stored = stored_(hash, true);
    if (!stored) {
      fail("the stored body of job " + key.str() + " cannot be read");
      return {};
    }
    if (stored->key != key) {
      fail("key hash collision: job " + key.str() + " and the stored job " + stored->key.str() +
           " share key hash " + key_hash_hex(hash) + "; see docs/STATE.md \"Key hashes\"");
      return {};
    }
    return std::move(stored->body);
  }

  void fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }

  const scope_id& scope_;
  const scope_state& prev_;
  const diff_options& opts_;
  std::int64_t now_;
  const stored_job_fn& stored_;
  diff_outcome out_;
  std::string error_;
  std::uint32_t walk_ = 0;
  // Snapshot entries seen: those the walk marked plus those of `changed_`.
  std::size_t seen_count_ = 0;
  // Key hashes of the previous jobs seen changed and not also marked
  // unchanged (few in a steady walk).
  boost::unordered_flat_set<std::uint64_t, prehashed> changed_;
};

}  // namespace

diff_outcome diff_scope(const scope_id& scope, const scope_state& previous,
                        const walk_observation& seen, const diff_options& opts, std::int64_t now_ms,
                        const stored_job_fn& stored) {
  return differ(scope, previous, opts, now_ms, stored).run(seen, nullptr);
}

diff_outcome diff_scope(const scope_id& scope, const scope_state& previous, walk_observation&& seen,
                        const diff_options& opts, std::int64_t now_ms,
                        const stored_job_fn& stored) {
  return differ(scope, previous, opts, now_ms, stored).run(seen, &seen);
}

}  // namespace hssjw
