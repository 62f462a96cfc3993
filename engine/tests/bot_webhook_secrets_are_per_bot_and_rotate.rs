//! Every bot has its own webhook signing secret: handed out at creation, readable by the
//! host, replaced by rotation, and given by the migration to bots made before it existed.

mod common;

use ember_engine::{Engine, Error, SCHEMA_VERSION};

fn is_secret(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn each_bot_gets_its_own_secret_at_creation() {
    let mut db = common::open();
    let one = db.create_bot("one", "One").unwrap();
    let two = db.create_bot("two", "Two").unwrap();
    assert!(is_secret(&one.webhook_secret), "{}", one.webhook_secret);
    assert_ne!(one.webhook_secret, two.webhook_secret);
    assert_ne!(one.webhook_secret, one.key);
    assert_eq!(
        db.bot_webhook_secret(one.user.id).unwrap(),
        one.webhook_secret
    );
    db.reopen();
    assert_eq!(
        db.bot_webhook_secret(two.user.id).unwrap(),
        two.webhook_secret
    );
}
common::both_stores!(each_bot_gets_its_own_secret_at_creation);

fn rotation_replaces_the_secret() {
    let db = common::open();
    let bot = db.create_bot("helper", "Helper").unwrap();
    let new = db.rotate_bot_webhook_secret(bot.user.id).unwrap();
    assert!(is_secret(&new));
    assert_ne!(new, bot.webhook_secret);
    assert_eq!(db.bot_webhook_secret(bot.user.id).unwrap(), new);
}
common::both_stores!(rotation_replaces_the_secret);

fn people_have_no_webhook_secret() {
    let db = common::open();
    let ann = common::admin(&db, "ann");
    assert!(matches!(
        db.bot_webhook_secret(ann.id),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        db.rotate_bot_webhook_secret(ann.id),
        Err(Error::NotFound(_))
    ));
}
common::both_stores!(people_have_no_webhook_secret);

/// SQLite only: it rewrites the file into an old schema version.
#[test]
fn bots_made_before_the_migration_get_a_secret_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ember.db");
    let (old, other) = {
        let db = Engine::open(common::options(&path)).unwrap();
        let old = db.create_bot("old", "Old").unwrap();
        let other = db.create_bot("other", "Other").unwrap();
        db.close();
        (old, other)
    };
    // Turn the file back into a version 1 database: without the column and the tables later
    // versions add (version 3 rebuilds the full-text tables, which works on either shape).
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "ALTER TABLE users DROP COLUMN webhook_secret; DROP TABLE access_log;
             PRAGMA user_version=1;",
        )
        .unwrap();
    }
    let db = Engine::open(common::options(&path)).unwrap();
    let migrated = db.bot_webhook_secret(old.user.id).unwrap();
    assert!(is_secret(&migrated), "{migrated}");
    assert_ne!(migrated, old.webhook_secret);
    assert_ne!(migrated, db.bot_webhook_secret(other.user.id).unwrap());
    db.close();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}
