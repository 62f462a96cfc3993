//! Bringing a database to this build's schema on open, once for every node starting
//! together, and the database's epoch.

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::Epoch;
use crate::store::pg::conn::Conn;
use crate::store::pg::schema::{MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION};

/// Migrates the database to [`SCHEMA_VERSION`] in one transaction under the advisory lock
/// [`MIGRATION_LOCK`] (a node that waited for it finds the work done) and returns the
/// database's epoch, created with the schema. Fails with [`Error::SchemaTooNew`] when a
/// newer build wrote the schema.
pub(crate) fn migrate(conn: &mut Conn) -> Result<Epoch> {
    let mut tx = conn.client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let has_meta: bool = tx
        .query_one(
            "SELECT EXISTS(SELECT 1 FROM pg_catalog.pg_tables \
             WHERE schemaname = current_schema() AND tablename = 'meta')",
            &[],
        )?
        .get(0);
    let found = if has_meta {
        let v: Option<String> = tx
            .query_opt("SELECT value FROM meta WHERE key = 'schema_version'", &[])?
            .map(|r| r.get(0));
        match v {
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| Error::validation("schema_version", "is not a number"))?,
            None => 0,
        }
    } else {
        0
    };
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for migration in &MIGRATIONS[found as usize..] {
        tx.batch_execute(migration)?;
    }
    if found < SCHEMA_VERSION {
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('schema_version', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&SCHEMA_VERSION.to_string()],
        )?;
    }
    let stored: Option<String> = tx
        .query_opt("SELECT value FROM meta WHERE key = 'epoch'", &[])?
        .map(|r| r.get(0));
    let epoch = match stored {
        Some(s) => s
            .parse()
            .map_err(|_| Error::validation("epoch", "stored epoch is not a UUID"))?,
        None => {
            let epoch = Epoch(Uuid::new_v4());
            tx.execute(
                "INSERT INTO meta(key, value) VALUES ('epoch', $1)",
                &[&epoch.to_string()],
            )?;
            epoch
        }
    };
    tx.commit()?;
    Ok(epoch)
}
