// The fake HSS's job inventory (see inventory.hpp). Each project keeps two
// sorted vectors of shared immutable jobs: one per EP and one over all EPs,
// so that both "enterprise_project_id=X" and "all_granted_eps" pages are an
// O(log n) lookup plus a slice, even with a million jobs.
#include "fake_hss/inventory.hpp"

#include <algorithm>
#include <chrono>

namespace fake_hss {

namespace {

// \x1f cannot appear in a sane name, so the joined key is unambiguous.
std::string index_key(std::string_view eps, std::string_view cluster, std::string_view ns,
                      std::string_view name) {
  std::string k;
  k.reserve(eps.size() + cluster.size() + ns.size() + name.size() + 3);
  k.append(eps).push_back('\x1f');
  k.append(cluster).push_back('\x1f');
  k.append(ns).push_back('\x1f');
  k.append(name);
  return k;
}

std::string index_key(const job& j) { return index_key(j.eps, j.cluster, j.ns, j.name); }

bool matches(const job& j, const page_query& q) {
  return (q.cluster.empty() || j.cluster == q.cluster) && (q.ns.empty() || j.ns == q.ns) &&
         (q.name.empty() || j.name == q.name);
}

}  // namespace

boost::json::object job::to_json() const {
  boost::json::array match_labels;
  for (const auto& [k, v] : labels)
    match_labels.push_back(boost::json::object{{"key", k}, {"val", v}});
  boost::json::object o{{"cluster_name", cluster},
                        {"namespace_name", ns},
                        {"name", name},
                        {"status", status},
                        {"pods_num", pods_num},
                        {"image_name", image},
                        {"match_labels", std::move(match_labels)},
                        {"create_time", create_time},
                        {"execute_time", execute_time}};
  for (const auto& kv : extra) o[kv.key()] = kv.value();
  return o;
}

std::int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inventory::inventory(clock now_ms) : now_ms_(std::move(now_ms)) {}

bool inventory::before(const entry& a, const entry& b) {
  if (a.create_time != b.create_time) return a.create_time > b.create_time;
  return a.seq > b.seq;
}

void inventory::place(std::vector<entry>& v, const entry& e) {
  v.insert(std::lower_bound(v.begin(), v.end(), e, before), e);
}

void inventory::displace(std::vector<entry>& v, const entry& e) {
  auto it = std::lower_bound(v.begin(), v.end(), e, before);
  if (it != v.end() && it->seq == e.seq) v.erase(it);
}

// last_update_time must move on every change, even two in one millisecond:
// a client that trusts it to skip a walk would otherwise miss the second.
std::int64_t inventory::stamp() {
  last_stamp_ = std::max(now_ms_(), last_stamp_ + 1);
  return last_stamp_;
}

void inventory::touch(bucket& b, const std::string& eps, std::int64_t t) {
  b.updated = t;
  b.eps_updated[eps] = t;
}

bool inventory::upsert(job j) {
  const std::int64_t t = stamp();
  if (j.create_time == 0) j.create_time = t;
  if (j.execute_time == 0) j.execute_time = j.create_time;
  auto& b = projects_[j.project_id];
  auto& by_eps = b.by_eps[j.eps];
  const std::string eps = j.eps;
  auto [it, is_new] = b.index.try_emplace(index_key(j));
  slot& s = it->second;
  if (!is_new) {
    if (*s.j == j) return false;  // nothing changed: not an update
    if (s.create_time == j.create_time) {
      // A modification keeps the job's place in the listing.
      s.j = std::make_shared<const job>(std::move(j));
      touch(b, eps, t);
      return false;
    }
    displace(b.all, entry_of(s));
    displace(by_eps, entry_of(s));
  }
  s.create_time = j.create_time;
  s.seq = next_seq_++;
  s.j = std::make_shared<const job>(std::move(j));
  place(b.all, entry_of(s));
  place(by_eps, entry_of(s));
  touch(b, eps, t);
  return is_new;
}

void inventory::upsert_many(std::vector<job> jobs) {
  // Only keys new to the inventory (and to this batch) take the bulk path;
  // the rest go one by one so they keep upsert's semantics.
  std::map<std::string, std::vector<entry>, std::less<>> fresh;  // by project
  const std::int64_t t = stamp();
  for (auto& j : jobs) {
    auto& b = projects_[j.project_id];
    std::string key = index_key(j);
    if (b.index.contains(key)) {
      upsert(std::move(j));
      continue;
    }
    if (j.create_time == 0) j.create_time = t;
    if (j.execute_time == 0) j.execute_time = j.create_time;
    slot& s = b.index[std::move(key)];
    s.create_time = j.create_time;
    s.seq = next_seq_++;
    s.j = std::make_shared<const job>(std::move(j));
    fresh[s.j->project_id].push_back(entry_of(s));
  }
  auto merge_in = [](std::vector<entry>& v, std::vector<entry>& add) {
    std::sort(add.begin(), add.end(), before);
    const auto middle = static_cast<std::ptrdiff_t>(v.size());
    v.insert(v.end(), add.begin(), add.end());
    std::inplace_merge(v.begin(), v.begin() + middle, v.end(), before);
  };
  for (auto& [project, added] : fresh) {
    // A key given twice with different create_times was re-placed by
    // upsert() already; its first, pending entry is stale.
    std::erase_if(added, [](const entry& e) { return e.seq != e.s->seq; });
    auto& b = projects_.find(project)->second;
    std::map<std::string, std::vector<entry>, std::less<>> per_eps;
    for (const auto& e : added) per_eps[e.s->j->eps].push_back(e);
    merge_in(b.all, added);
    for (auto& [eps, v] : per_eps) {
      merge_in(b.by_eps[eps], v);
      touch(b, eps, stamp());
    }
  }
}

bool inventory::erase(std::string_view project_id, std::string_view eps, std::string_view cluster,
                      std::string_view ns, std::string_view name) {
  auto p = projects_.find(project_id);
  if (p == projects_.end()) return false;
  auto& b = p->second;
  auto found = b.index.find(index_key(eps, cluster, ns, name));
  if (found == b.index.end()) return false;
  const std::string home = found->second.j->eps;
  displace(b.all, entry_of(found->second));
  displace(b.by_eps[home], entry_of(found->second));
  b.index.erase(found);
  touch(b, home, stamp());
  return true;
}

void inventory::clear() {
  const std::int64_t t = stamp();
  for (auto& [project, b] : projects_) {
    b.all.clear();
    for (auto& [eps, v] : b.by_eps) {
      v.clear();
      b.eps_updated[eps] = t;
    }
    b.index.clear();
    b.updated = t;
  }
}

const std::vector<inventory::entry>* inventory::listing(std::string_view project_id,
                                                        std::string_view eps) const {
  auto p = projects_.find(project_id);
  if (p == projects_.end()) return nullptr;
  if (eps == all_granted_eps) return &p->second.all;
  auto e = p->second.by_eps.find(eps);
  return e == p->second.by_eps.end() ? nullptr : &e->second;
}

std::vector<job> inventory::jobs(std::string_view project_id, std::string_view eps) const {
  std::vector<job> out;
  if (const auto* v = listing(project_id, eps)) {
    out.reserve(v->size());
    for (const auto& e : *v) out.push_back(*e.s->j);
  }
  return out;
}

std::size_t inventory::size() const {
  std::size_t n = 0;
  for (const auto& [project, b] : projects_) n += b.all.size();
  return n;
}

std::size_t inventory::count(std::string_view project_id, std::string_view eps) const {
  const auto* v = listing(project_id, eps);
  return v ? v->size() : 0;
}

job_ptr inventory::at(std::string_view project_id, std::string_view eps, std::size_t index) const {
  const auto* v = listing(project_id, eps);
  return v && index < v->size() ? (*v)[index].s->j : nullptr;
}

job_ptr inventory::find(std::string_view project_id, std::string_view eps, std::string_view cluster,
                        std::string_view ns, std::string_view name) const {
  auto p = projects_.find(project_id);
  if (p == projects_.end()) return nullptr;
  auto found = p->second.index.find(index_key(eps, cluster, ns, name));
  return found == p->second.index.end() ? nullptr : found->second.j;
}

std::vector<std::pair<std::string, std::string>> inventory::scopes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [project, b] : projects_)
    for (const auto& [eps, v] : b.by_eps) out.emplace_back(project, eps);
  return out;
}

std::int64_t inventory::last_update_time(std::string_view project_id, std::string_view eps) const {
  auto p = projects_.find(project_id);
  if (p == projects_.end()) return 0;
  if (eps == all_granted_eps) return p->second.updated;
  auto e = p->second.eps_updated.find(eps);
  return e == p->second.eps_updated.end() ? 0 : e->second;
}

page inventory::list(const page_query& q) const {
  page out;
  out.last_update_time = last_update_time(q.project_id, q.eps);
  const auto* v = listing(q.project_id, q.eps);
  if (!v) return out;
  const auto offset = static_cast<std::size_t>(std::max<std::int64_t>(q.offset, 0));
  const auto limit = static_cast<std::size_t>(std::max<std::int64_t>(q.limit, 0));
  if (q.cluster.empty() && q.ns.empty() && q.name.empty()) {
    out.total_num = static_cast<std::int64_t>(v->size());
    for (std::size_t i = offset; i < v->size() && i < offset + limit; ++i)
      out.jobs.push_back((*v)[i].s->j);
    return out;
  }
  // Filtered: one linear pass counts matches and slices the wanted window.
  std::size_t n = 0;
  for (const auto& e : *v) {
    if (!matches(*e.s->j, q)) continue;
    if (n >= offset && n < offset + limit) out.jobs.push_back(e.s->j);
    ++n;
  }
  out.total_num = static_cast<std::int64_t>(n);
  return out;
}

}  // namespace fake_hss
