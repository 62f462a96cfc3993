//! `serve --plugin PATH` loads a C plugin from a shared library before listening, so that
//! posts over the WebSocket go through it; a plugin that cannot be loaded stops the server
//! with a non-zero exit and a message naming the file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BIN, Fixture, Server, http, new_id};
use serde_json::{Value, json};

/// Builds `examples/c/plugin_shout.c` as a loadable plugin in `dir` (not linked to libember:
/// the server provides it).
fn shout_library(dir: &Path) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server-bin/ is inside the workspace");
    let out = dir.join("libshout.so");
    let output = Command::new("cc")
        .args([
            "-std=c11",
            "-D_POSIX_C_SOURCE=200809L",
            "-Wall",
            "-Wextra",
            "-Werror",
        ])
        .args(["-shared", "-fPIC", "-DEMBER_PLUGIN_LIBRARY", "-I"])
        .arg(repo.join("include"))
        .arg(repo.join("examples/c/plugin_shout.c"))
        .arg("-o")
        .arg(&out)
        .output()
        .expect("cc runs");
    assert!(
        output.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

#[test]
fn a_plugin_loaded_with_the_flag_shapes_websocket_posts() {
    let f = Fixture::new();
    let lib = shout_library(f.dir.path());
    let lib = lib.to_str().expect("a UTF-8 temp path");
    let server = Server::start(&f, &["--plugin", lib]);
    let token = f.token("ann");
    let mut ann = server.ws(&token);
    ann.subscribe(&f.room, None);

    ann.send(
        json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                    "content": "/shout hi", "ref": 1}),
    );
    let (ack, _) = ann.until("ack");
    assert_eq!(ack["message"]["content"], "HI", "{ack}");

    let (status, list) = http(
        server.addr,
        "GET",
        &format!("/api/rooms/{}/messages?limit=10", f.room),
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(status, 200, "{list}");
    let list: Value = serde_json::from_str(&list).expect("json");
    let contents: Vec<_> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["content"].clone())
        .collect();
    assert_eq!(contents, ["HI"], "the stored message is the plugin's");
}

#[test]
fn a_plugin_path_that_does_not_exist_stops_the_server_before_listening() {
    let f = Fixture::new();
    let missing = f.dir.path().join("missing-plugin.so");
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&f.db)
        .arg("--plugin")
        .arg(&missing)
        .env("EMBER_PASSWORD_MEMORY_KIB", "64")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ember-server");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    let want = format!("plugin {}: no such file", missing.display());
    assert!(stderr.contains(&want), "{stderr}");
}
