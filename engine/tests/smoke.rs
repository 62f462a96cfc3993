use ember_engine::*;

fn fast(path: &std::path::Path) -> Options {
    let mut o = Options::new(path);
    o.password_cost = PasswordCost { memory_kib: 8, iterations: 1 };
    o
}

#[test]
fn smoke() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(fast(&dir.path().join("db"))).unwrap();
    let ann = e.create_user(NewUser { login: "ann".into(), name: "Ann".into(), password: "password1".into(), role: Role::Admin }).unwrap();
    let bob = e.create_user(NewUser { login: "bob".into(), name: "Bob".into(), password: "password1".into(), role: Role::Member }).unwrap();
    let room = e.create_room(ann.id, RoomKind::Open, "Lobby", &[]).unwrap();
    let p = NewPost { user: ann.id, room: room.id, client_message_id: ClientMessageId::new_v7(), content: "hello @Bob world".into() };
    let a = e.post(p.clone()).unwrap();
    assert!(!a.duplicate);
    assert_eq!(a.message.mentions, vec![bob.id]);
    let b = e.post(p).unwrap();
    assert!(b.duplicate);
    assert_eq!(a.message, b.message);
    let rooms = e.rooms_for(bob.id).unwrap();
    assert_eq!(rooms[0].unread, 1);
    let login = e.login("BOB", "password1").unwrap();
    assert_eq!(e.authenticate(&login.token).unwrap().id, bob.id);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let found = e.search(bob.id, "world", 10).unwrap();
    assert_eq!(found.len(), 1);
    e.edit_message(ann.id, a.message.id, "bye").unwrap();
    let ch = e.changes_since(bob.id, room.id, 0, 10).unwrap();
    assert_eq!(ch.messages.len(), 1);
    assert_eq!(ch.messages[0].change_seq, 2);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(e.search(bob.id, "world", 10).unwrap().is_empty());
    assert_eq!(e.search(bob.id, "bye", 10).unwrap().len(), 1);
    e.delete_message(ann.id, a.message.id).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(e.search(bob.id, "bye", 10).unwrap().is_empty());
    println!("{:?}", e.stats());
    let direct = e.direct_room(ann.id, &[bob.id]).unwrap();
    assert_eq!(e.direct_room(bob.id, &[ann.id]).unwrap().id, direct.id);
    e.close();
    assert_eq!(e.post(NewPost { user: ann.id, room: room.id, client_message_id: ClientMessageId::new_v7(), content: "x".into() }).unwrap_err(), Error::Closed);
}
