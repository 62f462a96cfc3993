//! One engine per database file in a process: a second `Engine::open` of a file that an
//! open engine holds (under any name for it) is refused with `Error::AlreadyOpen`, so a
//! subscription can never miss posts made through a second engine. Closing lets it go,
//! even while clones of the closed engine are still alive.
//!
//! SQLite only: about files (several engines may share one PostgreSQL database).

mod common;

use common::*;
use ember_engine::{Engine, Error};

#[test]
fn a_file_open_in_this_process_is_refused_until_closed() {
    let db = open();
    let again = Engine::open(options(db.path()));
    assert!(
        matches!(&again, Err(Error::AlreadyOpen { path }) if path == &db.path().display().to_string()),
        "{again:?}"
    );
    let dir = db.path().parent().expect("a directory");
    let other_name = dir
        .join("..")
        .join(dir.file_name().expect("a name"))
        .join("ember.db");
    assert!(matches!(
        Engine::open(options(&other_name)),
        Err(Error::AlreadyOpen { .. })
    ));

    let clone = db.engine.clone();
    db.close();
    let reopened = Engine::open(options(db.path())).expect("free again once closed");
    assert!(matches!(clone.users(), Err(Error::Closed)));
    let ann = member(&reopened, "ann");
    assert_eq!(reopened.user(ann.id).map(|u| u.login), Ok("ann".to_owned()));
    reopened.close();
}
