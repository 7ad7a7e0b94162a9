// state.db's schema: what makes a file ours (application_id and
// user_version), the migrations that bring an older file up to date, and
// the checks run when it opens, before anything is written. A file that
// is damaged, foreign or newer is refused untouched, with the operator's
// remedy in the message (docs/STATE.md). Also the translation of SQLite
// result codes into the store's errors, shared with the store.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "model/job.hpp"
#include "state/sqlite_db.hpp"
#include "state/sqlite_store.hpp"

namespace hssjw::sqlite {

// Declared with the store, its public face (docs/STATE.md).
inline constexpr std::int32_t application_id = sqlite_store::application_id;
inline constexpr std::int32_t schema_version = sqlite_store::schema_version;

// The key in columns first, first + 1, first + 2 (cluster, ns, name).
job_key read_key(const statement& s, int first = 1);

// SQLite integers are signed: a 64-bit hash is stored as the same bits.
inline std::int64_t as_stored(std::uint64_t v) { return static_cast<std::int64_t>(v); }

// SQLite codes that mean "this file is not what we think it is"
// (state_corrupt) versus everything else (state_io: disk full,
// permissions, I/O): the operator's remedy differs, so the code does too.
errc classify(int rc);
// SQLite's message for `rc` on `db` (or for `rc` alone), with the code.
std::string detail(sqlite3* db, int rc);

// The error of a step of opening the file at `path` that SQLite failed
// with `rc`: what, why, and what to do about it.
error open_failure(const std::string& path, sqlite3* db, int rc, const std::string& what);

// The first column of the first row of `sql`, 0 for no row.
result<std::int64_t> query_int(database& db, const std::string& path, const char* sql,
                               const char* what);

// Registers the SQL functions the migrations use (hssjw_key_hash) on a
// connection to the file; a SQLite result code.
int register_schema_functions(sqlite3* db);

// Makes a connection just opened (read-write, functions registered) to
// the file at `path` ready for the store: checks that the file is ours
// (or new) and not damaged, before anything is written; puts it in WAL
// mode with synchronous=FULL; migrates it to schema_version, in one
// transaction.
result<void> check_and_migrate(database& db, const std::string& path);

}  // namespace hssjw::sqlite
