// RAII wrappers over the SQLite C API (see sqlite_db.hpp).
#include "state/sqlite_db.hpp"

#include <utility>

namespace hssjw::sqlite {

database& database::operator=(database&& o) noexcept {
  if (this != &o) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(o.db_, nullptr);
  }
  return *this;
}

database::~database() {
  // close_v2 so that a statement finalized later (by its owner's
  // destructor) does not turn the close into SQLITE_BUSY and leak.
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

int database::exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

std::string database::errmsg() const {
  return db_ != nullptr ? std::string(sqlite3_errmsg(db_)) : std::string("no connection");
}

statement& statement::operator=(statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(o.stmt_, nullptr);
  }
  return *this;
}

statement::~statement() { sqlite3_finalize(stmt_); }

int statement::prepare(sqlite3* db, std::string_view sql) {
  sqlite3_finalize(stmt_);
  stmt_ = nullptr;
  // PREPARE_PERSISTENT: these statements live as long as the store and
  // run on every commit; the flag tells SQLite not to use lookaside memory.
  return sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                            &stmt_, nullptr);
}

int statement::bind(int i, std::int64_t v) { return sqlite3_bind_int64(stmt_, i, v); }

int statement::bind(int i, std::string_view v) {
  // SQLITE_TRANSIENT: SQLite copies the bytes, so callers may pass views
  // of temporaries.
  return sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

int statement::bind_static(int i, std::string_view v) {
  return sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

int statement::bind(int i, const std::optional<std::int64_t>& v) {
  return v ? bind(i, *v) : sqlite3_bind_null(stmt_, i);
}

int statement::step() { return sqlite3_step(stmt_); }

void statement::reset() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t statement::column_int64(int i) const { return sqlite3_column_int64(stmt_, i); }

std::optional<std::int64_t> statement::column_opt_int64(int i) const {
  if (sqlite3_column_type(stmt_, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(stmt_, i);
}

std::string_view statement::column_text(int i) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
  if (p == nullptr) return {};
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i))};
}

}  // namespace hssjw::sqlite
