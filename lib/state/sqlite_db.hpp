// A thin RAII layer over the SQLite C API for the state store: one owner
// for the connection, one for each prepared statement, and a guard that
// resets a cached statement after use so it never pins a read snapshot.
// It reports SQLite result codes as ints; the store turns them into
// hssjw errors with a message for the operator.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hssjw::sqlite {

// Owns a connection; closes it (and so checkpoints the WAL) on destruction.
class database {
 public:
  database() = default;
  explicit database(sqlite3* db) : db_(db) {}
  database(database&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  database& operator=(database&& o) noexcept;
  database(const database&) = delete;
  database& operator=(const database&) = delete;
  ~database();

  sqlite3* get() const { return db_; }
  explicit operator bool() const { return db_ != nullptr; }

  // Runs one or more statements that return no rows we need.
  int exec(const char* sql);
  // The text of the connection's most recent error.
  std::string errmsg() const;

 private:
  sqlite3* db_ = nullptr;
};

// Owns a prepared statement; reused across calls (prepared once per store).
class statement {
 public:
  statement() = default;
  statement(statement&& o) noexcept : stmt_(o.stmt_) { o.stmt_ = nullptr; }
  statement& operator=(statement&& o) noexcept;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement();

  // Prepares `sql` on `db`, replacing what this statement held.
  int prepare(sqlite3* db, std::string_view sql);

  // Binds are 1-based, like SQLite's.
  int bind(int i, std::int64_t v);
  int bind(int i, std::string_view v);
  // Without SQLite's copy: `v` must stay valid until the statement has
  // been stepped (every use here rebinds before the next step).
  int bind_static(int i, std::string_view v);
  int bind(int i, const std::optional<std::int64_t>& v);

  int step();  // SQLITE_ROW, SQLITE_DONE or an error code
  void reset();

  std::int64_t column_int64(int i) const;
  std::optional<std::int64_t> column_opt_int64(int i) const;
  std::string_view column_text(int i) const;

  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a cached statement when a use of it ends, however it ends.
class reset_guard {
 public:
  explicit reset_guard(statement& s) : s_(s) {}
  reset_guard(const reset_guard&) = delete;
  reset_guard& operator=(const reset_guard&) = delete;
  ~reset_guard() { s_.reset(); }

 private:
  statement& s_;
};

}  // namespace hssjw::sqlite
