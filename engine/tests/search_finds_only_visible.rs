//! Search finds words (stemmed) in the user's rooms only, newest first; any text is a valid
//! query; edited-away and deleted content stops matching.

mod common;

use ember_engine::{Engine, Message, MessageId, RoomId, RoomKind, User};
use proptest::prelude::*;

/// A database with Ann in an open lobby.
fn lobby() -> (common::TestDb, User, RoomId) {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let room = common::open_room(&db, ann.id, "Lobby");
    (db, ann, room)
}

/// Waits until `text` finds exactly `expected` for `user`, in that order.
fn wait_for_results(db: &Engine, user: &User, text: &str, expected: &[MessageId]) {
    common::eventually(
        &format!("{text:?} finds {} message(s)", expected.len()),
        || common::search_ids(db, user.id, text) == expected,
    );
}

/// An accent typed as a separate combining character (decomposed text, as macOS keyboards
/// produce) stays inside its word: the message is found by its own words, and by the
/// accent-free spelling, since the index folds diacritics.
fn words_with_combining_accents_inside_are_found() {
    let (db, ann, room) = lobby();
    let naive = common::post(&db, ann.id, room, "a nai\u{308}ve question").id;
    wait_for_results(&db, &ann, "question", &[naive]);
    for query in ["nai\u{308}ve", "nai\u{308}ve question", "naïve", "naive"] {
        assert_eq!(
            common::search_ids(&db, ann.id, query),
            vec![naive],
            "query {query:?}"
        );
    }
}
common::both_stores!(words_with_combining_accents_inside_are_found);

fn words_are_found_with_their_stems() {
    let (db, ann, room) = lobby();
    let running = common::post(&db, ann.id, room, "I was running late again").id;
    common::post(&db, ann.id, room, "nothing to see here");
    wait_for_results(&db, &ann, "running", &[running]);
    for query in ["run", "runs", "RUNNING", "late run", "Late, again!"] {
        assert_eq!(
            common::search_ids(&db, ann.id, query),
            vec![running],
            "query {query:?}"
        );
    }
    for query in ["walk", "running walk", "", "   "] {
        assert!(
            common::search_ids(&db, ann.id, query).is_empty(),
            "query {query:?} matched"
        );
    }
}
common::both_stores!(words_are_found_with_their_stems);

fn query_syntax_is_taken_as_plain_words() {
    let (db, ann, room) = lobby();
    let hello = common::post(&db, ann.id, room, "hello world, and or not near content").id;
    wait_for_results(&db, &ann, "hello", &[hello]);
    let finding = [
        "\"hello",
        "hello*",
        "NEAR(hello world)",
        "hello AND world",
        "-hello",
        "^hello",
        "content:hello",
        "hello OR world",
        "NOT hello",
        "(hello",
        "{hello}",
        "hello\"world\"",
    ];
    for query in finding {
        assert_eq!(
            common::search_ids(&db, ann.id, query),
            vec![hello],
            "query {query:?}"
        );
    }
    // As operators these would match; as words every one of them must be present.
    for query in ["hello OR zebra", "hel*", "hello NOT zebra", "zebra:hello"] {
        assert!(
            common::search_ids(&db, ann.id, query).is_empty(),
            "query {query:?} matched"
        );
    }
    for query in [
        "\"",
        "*",
        "NEAR(",
        "AND",
        "-",
        "^",
        ":",
        "\"\"",
        "()",
        "OR NOT",
        "'",
        "\\",
        "\u{345}",
        "²",
        "Ⅻ",
        "a\u{301}b",
        "\u{200d}",
    ] {
        if let Err(e) = db.search(ann.id, query, 10) {
            panic!("query {query:?} failed: {e}");
        }
    }
}
common::both_stores!(query_syntax_is_taken_as_plain_words);

fn any_text_is_a_valid_query() {
    let (db, ann, room) = lobby();
    let message = common::post(&db, ann.id, room, "some words to match against");
    wait_for_results(&db, &ann, "words", &[message.id]);
    common::check_property(64, any::<String>(), |text| {
        let result = db.search(ann.id, &text, 10);
        prop_assert!(result.is_ok(), "query {:?} gave {:?}", text, result);
        Ok(())
    });
}
common::both_stores!(any_text_is_a_valid_query);

fn results_are_newest_first_and_the_limit_is_respected() {
    let (db, ann, room) = lobby();
    let posted: Vec<Message> = (0..5)
        .map(|i| common::post(&db, ann.id, room, &format!("apple number {i}")))
        .collect();
    let newest_first: Vec<MessageId> = posted.iter().rev().map(|m| m.id).collect();
    wait_for_results(&db, &ann, "apple", &newest_first);
    let three: Vec<_> = db
        .search(ann.id, "apple", 3)
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(three, newest_first[..3]);
    assert_eq!(
        db.search(ann.id, "apple", 1).unwrap(),
        vec![posted[4].clone()]
    );
}
common::both_stores!(results_are_newest_first_and_the_limit_is_respected);

fn edited_away_and_deleted_content_stops_matching() {
    let (db, ann, room) = lobby();
    let fruit = common::post(&db, ann.id, room, "banana bread").id;
    let other = common::post(&db, ann.id, room, "banana split").id;
    wait_for_results(&db, &ann, "banana", &[other, fruit]);

    db.edit_message(ann.id, fruit, "cherry pie").unwrap();
    wait_for_results(&db, &ann, "cherry", &[fruit]);
    wait_for_results(&db, &ann, "banana", &[other]);
    assert!(
        common::search_ids(&db, ann.id, "bread").is_empty(),
        "old words still match"
    );

    db.delete_message(ann.id, fruit).unwrap();
    wait_for_results(&db, &ann, "cherry", &[]);
    assert_eq!(common::search_ids(&db, ann.id, "banana"), vec![other]);
}
common::both_stores!(edited_away_and_deleted_content_stops_matching);

fn search_sees_only_the_users_rooms() {
    let (db, ann, lobby) = lobby();
    let bob = common::member(&db, "bob");
    let carol = common::member(&db, "carol");
    let closed = db
        .create_room(ann.id, RoomKind::Closed, "Plans", &[bob.id])
        .unwrap()
        .id;
    let direct = db.direct_room(ann.id, &[bob.id]).unwrap().id;
    let open = common::post(&db, ann.id, lobby, "kiwi for everyone").id;
    let planned = common::post(&db, ann.id, closed, "kiwi in the closed room").id;
    let whispered = common::post(&db, bob.id, direct, "kiwi between us").id;

    wait_for_results(&db, &bob, "kiwi", &[whispered, planned, open]);
    assert_eq!(
        common::search_ids(&db, ann.id, "kiwi"),
        vec![whispered, planned, open]
    );
    assert_eq!(
        common::search_ids(&db, carol.id, "kiwi"),
        vec![open],
        "Carol sees others' rooms"
    );

    db.remove_member(ann.id, closed, bob.id).unwrap();
    assert_eq!(
        common::search_ids(&db, bob.id, "kiwi"),
        vec![whispered, open],
        "removal ignored"
    );
}
common::both_stores!(search_sees_only_the_users_rooms);
