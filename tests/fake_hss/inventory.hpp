// The fake HSS's job inventory: the Kubernetes jobs HSS "knows about", per
// (project_id, enterprise_project_id), kept in the order ListK8sJobs pages
// them so a page is a slice, not a sort. Plain logic, no I/O, no locking:
// fake_hss::server wraps it in a mutex.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fake_hss {

// The enterprise_project_id value that lists every EP of a project.
inline constexpr std::string_view all_granted_eps = "all_granted_eps";
// The EP a job belongs to, and the one listed, when none is given.
inline constexpr std::string_view default_eps = "0";

// One job as ServerlessJobInfo renders it (HUAWEI-API.md §1.1).
struct job {
  std::string project_id;
  std::string eps{default_eps};  // enterprise_project_id it belongs to
  std::string cluster;           // cluster_name
  std::string ns;                // namespace_name
  std::string name;              // name
  std::string status = "Running";
  std::int64_t pods_num = 1;
  std::string image = "busybox:1.36";                       // image_name
  std::vector<std::pair<std::string, std::string>> labels;  // match_labels
  std::int64_t create_time = 0;   // epoch ms; 0 = stamped "now" on insertion
  std::int64_t execute_time = 0;  // epoch ms; 0 = create_time on insertion
  // Extra top-level fields, rendered after the known ones. A key that names
  // a known field overrides it, which is how a test sends e.g. a string
  // pods_num for one particular job.
  boost::json::object extra;

  boost::json::object to_json() const;
  friend bool operator==(const job&, const job&) = default;
};

using job_ptr = std::shared_ptr<const job>;

// What one ListK8sJobs request asks for, already validated.
struct page_query {
  std::string project_id;
  std::string eps{default_eps};  // an EP id, or all_granted_eps
  std::string cluster;           // exact-match filters; "" = no filter
  std::string ns;
  std::string name;
  std::int64_t offset = 0;
  std::int64_t limit = 200;
};

struct page {
  std::int64_t total_num = 0;
  std::int64_t last_update_time = 0;
  std::vector<job_ptr> jobs;  // immutable snapshots: safe to render unlocked
};

// Epoch milliseconds from the system clock.
std::int64_t system_now_ms();

class inventory {
 public:
  using clock = std::function<std::int64_t()>;
  explicit inventory(clock now_ms = system_now_ms);

  // Inserts or replaces the job with the same (project, eps, cluster, ns,
  // name). A job keeps its place when create_time is unchanged; a new
  // create_time places it anew. Returns true if the key was new.
  bool upsert(job j);
  // The same for many jobs, sorting once: the way to load a large inventory.
  void upsert_many(std::vector<job> jobs);
  bool erase(std::string_view project_id, std::string_view eps, std::string_view cluster,
             std::string_view ns, std::string_view name);
  void clear();

  // Listing order: create_time descending, later insertions first on ties.
  // eps may be all_granted_eps.
  std::vector<job> jobs(std::string_view project_id, std::string_view eps) const;
  std::size_t size() const;
  std::size_t count(std::string_view project_id, std::string_view eps) const;
  job_ptr find(std::string_view project_id, std::string_view eps, std::string_view cluster,
               std::string_view ns, std::string_view name) const;
  // The job at a position of a scope's listing order, or null.
  job_ptr at(std::string_view project_id, std::string_view eps, std::size_t index) const;
  // Every (project_id, eps) that ever held a job.
  std::vector<std::pair<std::string, std::string>> scopes() const;

  page list(const page_query& q) const;
  // Epoch ms of the last change of a listing (0 = never changed).
  std::int64_t last_update_time(std::string_view project_id, std::string_view eps) const;

 private:
  // A job's home: the index owns it; the sorted vectors point here (nodes
  // of an unordered_map never move), so a modification is one assignment.
  struct slot {
    job_ptr j;
    std::int64_t create_time = 0;
    std::uint64_t seq = 0;
  };
  // Ordered by (create_time desc, seq desc); seq is unique, so an entry's
  // position is found by binary search. Trivially copyable: inserting near
  // the front of a million entries is one memmove.
  struct entry {
    std::int64_t create_time = 0;
    std::uint64_t seq = 0;
    const slot* s = nullptr;
  };
  struct bucket {
    std::vector<entry> all;
    std::map<std::string, std::vector<entry>, std::less<>> by_eps;
    std::map<std::string, std::int64_t, std::less<>> eps_updated;
    std::unordered_map<std::string, slot> index;
    std::int64_t updated = 0;
  };
  static bool before(const entry& a, const entry& b);
  static void place(std::vector<entry>& v, const entry& e);
  static void displace(std::vector<entry>& v, const entry& e);
  static entry entry_of(const slot& s) { return {s.create_time, s.seq, &s}; }
  const std::vector<entry>* listing(std::string_view project_id, std::string_view eps) const;
  std::int64_t stamp();
  void touch(bucket& b, const std::string& eps, std::int64_t t);

  clock now_ms_;
  std::int64_t last_stamp_ = 0;
  std::uint64_t next_seq_ = 1;
  std::map<std::string, bucket, std::less<>> projects_;
};

}  // namespace fake_hss
