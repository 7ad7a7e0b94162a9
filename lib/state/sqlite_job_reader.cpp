// The job readers of list and sync over state.db (sqlite_job_reader.hpp).
#include "state/sqlite_job_reader.hpp"

#include "state/sqlite_schema.hpp"

namespace hssjw::sqlite {

namespace {

class sqlite_job_reader final : public job_reader {
 public:
  sqlite_job_reader(std::shared_ptr<read_view> view, std::vector<scope_id> scopes)
      : view_(std::move(view)), scopes_(std::move(scopes)) {}

  std::uint64_t seq() const override { return view_->seq; }

  result<bool> read(std::size_t max, const listed_job_visitor& visit) override {
    for (std::size_t n = 0; n < max && scope_ < scopes_.size();) {
      if (!started_) {
        int rc = SQLITE_OK;
        if (!stmt_.get())
          rc = stmt_.prepare(
              view_->db.get(),
              "SELECT cluster, ns, name, body FROM jobs WHERE scope = ?1 ORDER BY key_hash");
        stmt_.reset();
        if (rc == SQLITE_OK) rc = stmt_.bind(1, scopes_[scope_].str());
        if (rc != SQLITE_OK) return {boost::system::in_place_error, fail(rc)};
        started_ = true;
      }
      const int rc = stmt_.step();
      if (rc == SQLITE_DONE) {
        started_ = false;
        ++scope_;
        continue;
      }
      if (rc != SQLITE_ROW) return {boost::system::in_place_error, fail(rc)};
      ++n;
      if (!visit(scopes_[scope_], read_key(stmt_, 0), stmt_.column_text(3))) break;
    }
    if (scope_ == scopes_.size()) stmt_ = statement();  // done: nothing left pinned
    return scope_ < scopes_.size();
  }

 private:
  error fail(int rc) const {
    return error(classify(rc), view_->path + ": list jobs: " + detail(view_->db.get(), rc));
  }

  std::shared_ptr<read_view> view_;  // declared first: the statement goes before the connection
  std::vector<scope_id> scopes_;
  statement stmt_;
  std::size_t scope_ = 0;
  bool started_ = false;
};

}  // namespace

result<std::shared_ptr<read_view>> open_read_view(const std::string& path, std::uint64_t seq,
                                                  std::uint64_t job_writes) {
  auto view = std::make_shared<read_view>();
  view->seq = seq;
  view->job_writes = job_writes;
  view->path = path;
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
  view->db = database(raw);
  if (rc == SQLITE_OK) {
    // Only the pages being read: its cache is not the writer's 2 MiB.
    sqlite3_busy_timeout(raw, 100);
    rc = view->db.exec("PRAGMA cache_size=-256; BEGIN");
  }
  // The first read fixes the snapshot.
  statement start;
  if (rc == SQLITE_OK) rc = start.prepare(raw, "SELECT value FROM meta WHERE key = 'last_seq'");
  if (rc == SQLITE_OK) rc = start.step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return error(classify(rc), path + ": open a read transaction: " + detail(raw, rc));
  return view;
}

std::unique_ptr<job_reader> make_job_reader(std::shared_ptr<read_view> view,
                                            std::vector<scope_id> scopes) {
  return std::make_unique<sqlite_job_reader>(std::move(view), std::move(scopes));
}

}  // namespace hssjw::sqlite
