//! `load_plugin` loads a C plugin from a shared library through its `ember_plugin_entry`,
//! and refuses a missing file, a non-library, a library without the entry point, a NULL
//! entry result and a plugin built for another ABI, each with its own error.

use std::path::{Path, PathBuf};
use std::process::Command;

use ember::{LoadError, ember_status, load_plugin};
use ember_engine::{
    ClientMessageId, Engine, NewPost, NewUser, Options, PasswordCost, Role, RoomKind,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ffi/ is inside the workspace")
        .to_path_buf()
}

/// Compiles C `source` (a file of the repository or inline text) into `dir/name`, a shared
/// library that does not link libember (the test binary exports it).
fn shared_library(dir: &Path, name: &str, source: &Path, defines: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let output = Command::new("cc")
        .args([
            "-std=c11",
            "-D_POSIX_C_SOURCE=200809L",
            "-Wall",
            "-Wextra",
            "-Werror",
        ])
        .args(["-shared", "-fPIC"])
        .args(defines)
        .arg("-I")
        .arg(repo().join("include"))
        .arg(source)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("cc runs");
    assert!(
        output.status.success(),
        "cc failed on {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

fn inline_library(dir: &Path, name: &str, code: &str) -> PathBuf {
    let source = dir.join(format!("{name}.c"));
    std::fs::write(&source, code).expect("write the C source");
    shared_library(dir, &format!("lib{name}.so"), &source, &[])
}

fn engine(dir: &Path) -> Engine {
    let mut opts = Options::new(dir.join("t.db"));
    opts.password_cost = PasswordCost {
        memory_kib: 8,
        iterations: 1,
    };
    Engine::open(opts).expect("the engine opens")
}

#[test]
fn the_shout_example_loads_and_shouts() {
    let dir = tempfile::tempdir().unwrap();
    let lib = shared_library(
        dir.path(),
        "libshout.so",
        &repo().join("examples/c/plugin_shout.c"),
        &["-DEMBER_PLUGIN_LIBRARY"],
    );
    let engine = engine(dir.path());
    load_plugin(&engine, &lib).expect("the shout plugin loads");
    assert!(
        engine
            .plugins()
            .iter()
            .any(|p| p.name == "shout" && p.enabled),
        "{:?}",
        engine.plugins()
    );
    let ann = engine
        .create_user(NewUser {
            login: "ann".into(),
            name: "Ann".into(),
            password: "password1".into(),
            role: Role::Admin,
        })
        .unwrap();
    let room = engine
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let post = |content: &str| {
        engine.post(NewPost {
            user: ann.id,
            room: room.id,
            client_message_id: ClientMessageId::new_v7(),
            content: content.into(),
        })
    };
    assert_eq!(post("/shout hello").unwrap().message.content, "HELLO");
    let spam = post("buy spam").expect_err("the on_post hook refuses spam");
    assert!(spam.to_string().contains("no spam here"), "{spam}");
    engine.close();
}

#[test]
fn a_missing_file_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let path = dir.path().join("nowhere.so");
    let err = load_plugin(&engine, &path).unwrap_err();
    assert!(matches!(err, LoadError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string().contains("nowhere.so: no such file"),
        "{err}"
    );
    engine.close();
}

#[test]
fn a_file_that_is_no_library_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let path = dir.path().join("notes.so");
    std::fs::write(&path, "not an ELF file\n").unwrap();
    let err = load_plugin(&engine, &path).unwrap_err();
    assert!(matches!(err, LoadError::NotALibrary { .. }), "{err:?}");
    assert!(
        err.to_string().contains("not a loadable shared library"),
        "{err}"
    );
    engine.close();
}

#[test]
fn a_library_without_the_entry_point_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lib = inline_library(
        dir.path(),
        "noentry",
        "int not_a_plugin(void);\nint not_a_plugin(void) { return 1; }\n",
    );
    let engine = engine(dir.path());
    let err = load_plugin(&engine, &lib).unwrap_err();
    assert!(matches!(err, LoadError::MissingEntry { .. }), "{err:?}");
    assert!(
        err.to_string().contains("no ember_plugin_entry symbol"),
        "{err}"
    );
    assert!(engine.plugins().iter().all(|p| p.name != "noentry"));
    engine.close();
}

#[test]
fn a_null_entry_result_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lib = inline_library(
        dir.path(),
        "null",
        "#include \"ember.h\"\n\
         const ember_plugin *ember_plugin_entry(void);\n\
         const ember_plugin *ember_plugin_entry(void) { return NULL; }\n",
    );
    let engine = engine(dir.path());
    let err = load_plugin(&engine, &lib).unwrap_err();
    assert!(matches!(err, LoadError::NullPlugin { .. }), "{err:?}");
    engine.close();
}

#[test]
fn a_plugin_for_another_abi_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lib = inline_library(
        dir.path(),
        "future",
        "#include \"ember.h\"\n\
         static const ember_plugin PLUGIN = {\n\
             .abi_version = EMBER_PLUGIN_ABI_VERSION + 1,\n\
             .struct_size = sizeof(ember_plugin),\n\
             .name = \"future\",\n\
         };\n\
         const ember_plugin *ember_plugin_entry(void);\n\
         const ember_plugin *ember_plugin_entry(void) { return &PLUGIN; }\n",
    );
    let engine = engine(dir.path());
    let err = load_plugin(&engine, &lib).unwrap_err();
    assert!(matches!(err, LoadError::AbiMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("abi_version is 2"), "{err}");
    assert!(engine.plugins().iter().all(|p| p.name != "future"));
    engine.close();
}

#[test]
fn a_plugin_without_a_name_is_refused_by_the_shared_checks() {
    let dir = tempfile::tempdir().unwrap();
    let lib = inline_library(
        dir.path(),
        "noname",
        "#include \"ember.h\"\n\
         static const ember_plugin PLUGIN = {\n\
             .abi_version = EMBER_PLUGIN_ABI_VERSION,\n\
             .struct_size = sizeof(ember_plugin),\n\
             .name = NULL,\n\
         };\n\
         const ember_plugin *ember_plugin_entry(void);\n\
         const ember_plugin *ember_plugin_entry(void) { return &PLUGIN; }\n",
    );
    let engine = engine(dir.path());
    let err = load_plugin(&engine, &lib).unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::Refused {
                status: ember_status::EMBER_ERR_NULL,
                ..
            }
        ),
        "{err:?}"
    );
    engine.close();
}
