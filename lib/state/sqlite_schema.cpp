// state.db's schema, its migrations and the checks at open
// (sqlite_schema.hpp).
#include "state/sqlite_schema.hpp"

#include <cstdio>
#include <iterator>
#include <string_view>

#include "model/job.hpp"

namespace hssjw::sqlite {

namespace {

struct migration {
  int version;  // user_version after it ran
  const char* sql;
};

// Applied in order from the stored user_version, in one transaction with
// the user_version update. Never edit a shipped entry: add the next one.
constexpr migration migrations[] = {
    {1, R"sql(
CREATE TABLE scopes(
  id TEXT PRIMARY KEY NOT NULL,
  project_id TEXT NOT NULL,
  eps TEXT NOT NULL,
  filters TEXT NOT NULL,
  has_baseline INTEGER NOT NULL,
  last_total_num INTEGER,
  last_update_time INTEGER,
  walks_since_full INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE jobs(
  scope TEXT NOT NULL,
  cluster TEXT NOT NULL,
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  create_time INTEGER,
  fingerprint INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY(scope, cluster, ns, name)
) WITHOUT ROWID;
CREATE TABLE pending(
  scope TEXT NOT NULL,
  cluster TEXT NOT NULL,
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  misses INTEGER NOT NULL,
  held INTEGER NOT NULL,
  PRIMARY KEY(scope, cluster, ns, name)
) WITHOUT ROWID;
CREATE TABLE journal(
  seq INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  scope TEXT NOT NULL,
  type TEXT NOT NULL,
  cluster TEXT NOT NULL,
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  line TEXT NOT NULL
);
CREATE TABLE meta(
  key TEXT PRIMARY KEY NOT NULL,
  value
) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES('last_seq', 0);
)sql"},
    // Jobs keyed by their key hash (model/job.hpp key_hash_of), the key the
    // snapshot in memory has: a job the walk did not see is read back by
    // it. hssjw_key_hash is registered on the connection
    // (register_schema_functions).
    {2, R"sql(
CREATE TABLE jobs_v2(
  scope TEXT NOT NULL,
  key_hash INTEGER NOT NULL,
  cluster TEXT NOT NULL,
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  create_time INTEGER,
  fingerprint INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY(scope, key_hash)
) WITHOUT ROWID;
INSERT INTO jobs_v2(scope, key_hash, cluster, ns, name, create_time, fingerprint, body)
  SELECT scope, hssjw_key_hash(cluster, ns, name), cluster, ns, name, create_time, fingerprint, body
  FROM jobs ORDER BY 1, 2;
DROP TABLE jobs;
ALTER TABLE jobs_v2 RENAME TO jobs;
)sql"},
};

static_assert(std::size(migrations) == schema_version, "one migration per schema version");

std::string hex32(std::int64_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(v));
  return buf;
}

// hssjw_key_hash(cluster, ns, name): key_hash_of as an SQL function, for
// the migration that adds jobs.key_hash.
void sql_key_hash(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto text = [&](int i) {
    const auto* t = reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
    return std::string_view(t ? t : "", static_cast<std::size_t>(sqlite3_value_bytes(argv[i])));
  };
  sqlite3_result_int64(ctx, as_stored(key_hash_of(job_key_view{text(0), text(1), text(2)})));
}

// Returns the stored schema version when the file is ours (or new);
// refuses, untouched, anything else. Runs before the first write.
result<int> check_identity(database& db, const std::string& path) {
  // The first read of the file: garbage fails here with SQLITE_NOTADB.
  auto app = query_int(db, path, "PRAGMA application_id", "cannot read the database header");
  if (!app) return app.error();
  auto version = query_int(db, path, "PRAGMA user_version", "cannot read the database header");
  if (!version) return version.error();
  auto tables = query_int(db, path, "SELECT count(*) FROM sqlite_schema", "cannot read the schema");
  if (!tables) return tables.error();
  const bool fresh = *app == 0 && *version == 0 && *tables == 0;
  if (fresh) return 0;
  if (*app != application_id) {
    return error(errc::state_corrupt,
                 path + ": not an hss-jobwatch database (application_id=" + hex32(*app) +
                     ", user_version=" + std::to_string(*version) + ", " + std::to_string(*tables) +
                     " schema objects); the file is left as it is: move it away or "
                     "point state_dir elsewhere");
  }
  if (*version > schema_version) {
    return error(errc::state_corrupt, path + ": written by a newer hss-jobwatch (schema version " +
                                          std::to_string(*version) + ", this build knows up to " +
                                          std::to_string(schema_version) +
                                          "); upgrade hss-jobwatch or point state_dir elsewhere");
  }
  if (*version < 0) {
    return error(errc::state_corrupt,
                 path + ": invalid schema version " + std::to_string(*version) +
                     "; the file is left as it is: restore a backup or move it away");
  }
  return static_cast<int>(*version);
}

result<void> quick_check(database& db, const std::string& path) {
  statement s;
  int rc = s.prepare(db.get(), "PRAGMA quick_check(1)");
  if (rc == SQLITE_OK) rc = s.step();
  if (rc != SQLITE_ROW) return open_failure(path, db.get(), rc, "integrity check failed");
  const std::string verdict(s.column_text(0));
  if (verdict == "ok") return {};
  return error(errc::state_corrupt,
               path + ": damaged (quick_check: " + verdict +
                   "); the file is left as it is: restore a backup, or move it away to "
                   "start over (with a new baseline)");
}

result<void> configure(database& db, const std::string& path) {
  // WAL: readers (the CLI) never block the daemon's commits. FULL: the WAL
  // is fsynced at every commit, so a released event survives power loss.
  statement s;
  int rc = s.prepare(db.get(), "PRAGMA journal_mode=WAL");
  if (rc == SQLITE_OK) rc = s.step();
  if (rc != SQLITE_ROW) return open_failure(path, db.get(), rc, "cannot enable WAL mode");
  if (s.column_text(0) != "wal") {
    return error(errc::state_io,
                 path + ": the file system does not support WAL mode (journal_mode=" +
                     std::string(s.column_text(0)) + "); put state_dir on a local disk");
  }
  s = statement();
  rc = db.exec("PRAGMA synchronous=FULL");
  if (rc != SQLITE_OK) return open_failure(path, db.get(), rc, "cannot set synchronous=FULL");
  return {};
}

result<void> migrate(database& db, const std::string& path, int from) {
  if (from >= schema_version) return {};
  int rc = db.exec("BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) return open_failure(path, db.get(), rc, "cannot start the schema migration");
  for (const auto& m : migrations) {
    if (m.version <= from) continue;
    rc = db.exec(m.sql);
    if (rc != SQLITE_OK) {
      // Version 2 keys jobs by key hash: two stored keys sharing one stop it.
      const bool collision = m.version == 2 && (rc & 0xff) == SQLITE_CONSTRAINT;
      auto err =
          open_failure(path, db.get(), rc,
                       "migration to schema version " + std::to_string(m.version) + " failed" +
                           (collision ? " (two stored jobs share a key hash: see "
                                        "docs/STATE.md \"Key hashes\")"
                                      : ""));
      db.exec("ROLLBACK");
      return err;
    }
  }
  const std::string stamp = "PRAGMA application_id=" + std::to_string(application_id) +
                            "; PRAGMA user_version=" + std::to_string(schema_version) + ";";
  rc = db.exec(stamp.c_str());
  if (rc == SQLITE_OK) rc = db.exec("COMMIT");
  if (rc != SQLITE_OK) {
    auto err = open_failure(path, db.get(), rc, "cannot record the schema version");
    db.exec("ROLLBACK");
    return err;
  }
  return {};
}

}  // namespace

job_key read_key(const statement& s, int first) {
  return {std::string(s.column_text(first)), std::string(s.column_text(first + 1)),
          std::string(s.column_text(first + 2))};
}

errc classify(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return errc::state_corrupt;
    default:
      return errc::state_io;
  }
}

std::string detail(sqlite3* db, int rc) {
  std::string out = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  out += " (sqlite code ";
  out += std::to_string(rc);
  out += ')';
  return out;
}

error open_failure(const std::string& path, sqlite3* db, int rc, const std::string& what) {
  const errc e = classify(rc);
  std::string msg = path + ": " + what + ": " + detail(db, rc);
  if (e == errc::state_corrupt) {
    msg +=
        "; the file is left as it is: restore a backup, or move it away to start over "
        "(with a new baseline)";
  } else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
    // Not our directory lock (that one names the other daemon): another
    // program, e.g. an sqlite3 shell in a transaction, holds state.db.
    msg +=
        "; another program holds a lock on the file (an open sqlite3 shell or backup "
        "tool?): end it and start the daemon again";
  } else {
    msg +=
        "; check that state_dir and state.db* are writable by the daemon's user and the "
        "disk has space";
  }
  return error(e, std::move(msg));
}

result<std::int64_t> query_int(database& db, const std::string& path, const char* sql,
                               const char* what) {
  statement s;
  int rc = s.prepare(db.get(), sql);
  if (rc == SQLITE_OK) rc = s.step();
  if (rc == SQLITE_ROW) return s.column_int64(0);
  if (rc == SQLITE_DONE) return 0;
  return open_failure(path, db.get(), rc, what);
}

int register_schema_functions(sqlite3* db) {
  return sqlite3_create_function(db, "hssjw_key_hash", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                 nullptr, sql_key_hash, nullptr, nullptr);
}

result<void> check_and_migrate(database& db, const std::string& path) {
  auto version = check_identity(db, path);
  if (!version) return version.error();
  if (auto r = quick_check(db, path); !r) return r;
  if (auto r = configure(db, path); !r) return r;
  return migrate(db, path, *version);
}

}  // namespace hssjw::sqlite
