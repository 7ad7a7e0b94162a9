// The in-memory state store: the same contract as the SQLite store with
// nothing durable (seq starts at 1 each run). Used by tests and by the
// daemon's in-memory mode.
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "state/store.hpp"

namespace hssjw {
namespace {

class memory_store final : public state_store {
 public:
  explicit memory_store(std::uint64_t max_events) : max_events_(max_events) {}

  result<std::vector<stored_scope>> load_all() override {
    std::vector<stored_scope> out;
    out.reserve(scopes_.size());
    for (const auto& [id, s] : scopes_) out.push_back(s.stored);
    return out;
  }

  result<std::optional<stored_job>> find_job(const scope_id& scope, std::uint64_t key_hash,
                                             bool with_body) override {
    auto it = scopes_.find(scope.str());
    if (it == scopes_.end()) return std::optional<stored_job>();
    const auto& bodies = *it->second.bodies;
    auto job = bodies.find(key_hash);
    if (job == bodies.end()) return std::optional<stored_job>();
    return std::optional<stored_job>(
        stored_job{job->second->key, with_body ? job->second->record.body : std::string()});
  }

  result<void> for_each_job(const scope_id& scope, const stored_job_visitor& visit) override {
    if (auto it = scopes_.find(scope.str()); it != scopes_.end())
      for (const auto& [hash, job] : *it->second.bodies) visit(job->key, job->record.body);
    return {};
  }

  result<std::unique_ptr<job_reader>> read_jobs(const std::vector<scope_id>& scopes) override;

  std::string fingerprint_basis() override { return basis_; }

  result<void> rewrite_fingerprints(
      const std::string& basis,
      const std::function<std::uint64_t(std::string_view)>& fingerprint_of) override {
    for (auto& [id, s] : scopes_) {
      for (auto& [hash, job] : writable(s)) {
        auto changed = std::make_shared<keyed_job>(*job);
        changed->record.fingerprint = fingerprint_of(changed->record.body);
        s.stored.state.jobs.insert_or_assign(hash, digest_of(changed->record));
        job = std::move(changed);
      }
    }
    basis_ = basis;
    return {};
  }

  result<void> commit(const scope_id& scope, const scope_delta& delta,
                      std::vector<change_event>& events) override {
    // Render first (each line after its seq is set, as in SQLite), change
    // state after: if rendering throws, no seq is consumed.
    std::vector<journal_entry> lines;
    lines.reserve(events.size());
    try {
      for (auto& e : events) {
        e.seq = last_seq_ + lines.size() + 1;
        e.line = to_json_line(e);
        lines.push_back({e.seq, e.line});
      }
    } catch (...) {
      unstamp(events);
      throw;
    }
    auto it = scopes_.try_emplace(scope.str(), held_scope{stored_scope{scope, {}}}).first;
    for (const auto& j : delta.upserts) {  // as SQLite refuses it (docs/STATE.md "Key hashes")
      const auto& bodies = *it->second.bodies;
      auto found = bodies.find(key_hash_of(j));
      if (found != bodies.end() && found->second->key != j.key) {
        unstamp(events);
        const auto hash = key_hash_of(j);
        return error(errc::key_hash_collision,
                     "scope " + scope.str() + ": job " + j.key.str() + " and the stored job " +
                         found->second->key.str() + " share key hash " + key_hash_hex(hash) +
                         "; nothing of this walk is committed (docs/STATE.md \"Key hashes\")");
      }
    }
    apply(it->second.stored.state, delta);
    if (!delta.empty_of_jobs()) {
      auto& bodies = writable(it->second);
      for (const auto& j : delta.upserts)
        bodies.insert_or_assign(key_hash_of(j), std::make_shared<const keyed_job>(j));
      for (const auto& k : delta.deletions) bodies.erase(key_hash_of(k));
    }
    for (auto& l : lines) journal_.push_back(std::move(l));
    last_seq_ += lines.size();
    trim();
    return {};
  }

  std::uint64_t last_seq() const override { return last_seq_; }

  std::uint64_t oldest_seq() const override {
    return journal_.empty() ? last_seq_ + 1 : journal_.front().seq;
  }

  result<std::vector<journal_entry>> read_journal(std::uint64_t after, std::size_t max) override {
    std::vector<journal_entry> out;
    // The journal holds consecutive seqs, so the start is an index.
    const std::uint64_t first = oldest_seq();
    std::size_t i = after < first ? 0 : static_cast<std::size_t>(after - first + 1);
    for (; i < journal_.size() && out.size() < max; ++i) out.push_back(journal_[i]);
    return out;
  }

  result<std::vector<scope_id>> prune(const std::vector<scope_id>& keep) override {
    std::set<std::string> kept;
    for (const auto& s : keep) kept.insert(s.str());
    std::vector<scope_id> gone;
    for (auto it = scopes_.begin(); it != scopes_.end();) {
      if (kept.contains(it->first)) {
        ++it;
        continue;
      }
      gone.push_back(it->second.stored.scope);
      it = scopes_.erase(it);
    }
    return gone;
  }

 private:
  void trim() {
    if (max_events_ == 0) return;
    while (journal_.size() > max_events_) journal_.pop_front();
  }

  // SQLite orders the stored hashes as the signed integers they are stored as.
  struct as_signed_less {
    bool operator()(std::uint64_t a, std::uint64_t b) const {
      return static_cast<std::int64_t>(a) < static_cast<std::int64_t>(b);
    }
  };
  // In SQLite's order. Copied on write while a reader holds it: a job
  // reader keeps the map as it was, and the copy shares the jobs.
  using body_map = std::map<std::uint64_t, std::shared_ptr<const keyed_job>, as_signed_less>;
  struct held_scope {
    stored_scope stored;
    std::shared_ptr<body_map> bodies = std::make_shared<body_map>();
  };
  class reader;

  static body_map& writable(held_scope& s) {
    if (s.bodies.use_count() > 1) s.bodies = std::make_shared<body_map>(*s.bodies);
    return *s.bodies;
  }

  std::uint64_t max_events_;
  std::uint64_t last_seq_ = 0;
  std::deque<journal_entry> journal_;
  std::string basis_;
  // Keyed by scope_id::str(), so load_all() is ordered like the SQLite store.
  std::map<std::string, held_scope> scopes_;
};

// The scopes' maps as they were when it opened: commits copy a map a
// reader holds instead of changing it.
class memory_store::reader final : public job_reader {
 public:
  reader(std::uint64_t seq,
         std::vector<std::pair<scope_id, std::shared_ptr<const body_map>>> scopes)
      : seq_(seq), scopes_(std::move(scopes)) {
    if (!scopes_.empty()) at_ = scopes_.front().second->begin();
  }

  std::uint64_t seq() const override { return seq_; }

  result<bool> read(std::size_t max, const listed_job_visitor& visit) override {
    for (std::size_t n = 0; n < max && scope_ < scopes_.size();) {
      const auto& [id, bodies] = scopes_[scope_];
      if (at_ == bodies->end()) {
        if (++scope_ < scopes_.size()) at_ = scopes_[scope_].second->begin();
        continue;
      }
      const auto& job = *at_->second;
      ++at_;
      ++n;
      if (!visit(id, job.key, job.record.body)) break;
    }
    while (scope_ < scopes_.size() && at_ == scopes_[scope_].second->end())
      if (++scope_ < scopes_.size()) at_ = scopes_[scope_].second->begin();
    return scope_ < scopes_.size();
  }

 private:
  std::uint64_t seq_;
  std::vector<std::pair<scope_id, std::shared_ptr<const body_map>>> scopes_;
  std::size_t scope_ = 0;
  body_map::const_iterator at_;
};

result<std::unique_ptr<job_reader>> memory_store::read_jobs(const std::vector<scope_id>& scopes) {
  std::vector<std::pair<scope_id, std::shared_ptr<const body_map>>> held;
  held.reserve(scopes.size());
  for (const auto& s : scopes)
    if (auto it = scopes_.find(s.str()); it != scopes_.end())
      held.emplace_back(s, it->second.bodies);
  return std::unique_ptr<job_reader>(std::make_unique<reader>(last_seq_, std::move(held)));
}

}  // namespace

std::unique_ptr<state_store> make_memory_store() { return make_memory_store(0); }

std::unique_ptr<state_store> make_memory_store(std::uint64_t max_events) {
  return std::make_unique<memory_store>(max_events);
}

}  // namespace hssjw
