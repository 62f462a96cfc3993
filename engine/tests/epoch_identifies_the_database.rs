//! The epoch names one database: it stays the same across reopening and differs between
//! databases, so sequence numbers from one are never mistaken for another's.

mod common;

fn the_epoch_survives_reopening() {
    let mut db = common::open();
    let ann = common::member(&db, "ann");
    let first = db.epoch();
    db.reopen();
    assert_eq!(db.epoch(), first);
    assert_eq!(
        db.user(ann.id).unwrap(),
        ann,
        "reopened a different database"
    );
}
common::both_stores!(the_epoch_survives_reopening);

fn another_database_has_another_epoch() {
    let one = common::open();
    let two = common::open();
    assert_ne!(one.epoch(), two.epoch());
}
common::both_stores!(another_database_has_another_epoch);
