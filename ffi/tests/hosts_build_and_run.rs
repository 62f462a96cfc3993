//! The C, C++ and Python hosts in `examples/` build against libember as `ffi/package.sh`
//! packages it (flags from `pkg-config --cflags --libs ember`, the shared library found by
//! its SONAME) and run to success; the C chat host also runs clean under AddressSanitizer
//! (or valgrind), and links against the static library.

mod packaged;

use std::path::Path;
use std::process::{Command, Output};

use packaged::{package, pkg_config, repo};

fn tool_available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Compiles `sources` into `out` with `compiler`, linking libember with the flags
/// `pkg-config --cflags --libs ember` gives.
fn compile(compiler: &str, sources: &[&str], out: &Path, extra: &[&str]) {
    let repo = repo();
    let mut cmd = Command::new(compiler);
    cmd.args(["-Wall", "-Wextra", "-Werror", "-g"])
        .args(pkg_config(&["--cflags"]))
        .arg("-I")
        .arg(repo.join("examples/cpp"))
        .args(extra);
    for s in sources {
        cmd.arg(repo.join(s));
    }
    cmd.args(pkg_config(&["--libs"])).arg("-o").arg(out);
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(
        output.status.success(),
        "{compiler} failed on {sources:?}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs a built host with libember on the library path; panics with its output on failure.
fn run(program: &Path, args: &[&Path], env: &[(&str, &str)]) -> String {
    let output: Output = Command::new(program)
        .args(args)
        .env("LD_LIBRARY_PATH", package().join("lib"))
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} failed ({}):\n{stdout}\n{}",
        program.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

const C_FLAGS: &[&str] = &["-std=c11", "-D_POSIX_C_SOURCE=200809L"];

#[test]
fn c_chat_posts_retries_and_replays_exactly_the_missed_messages() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("chat");
    compile("cc", &["examples/c/chat.c"], &exe, C_FLAGS);
    let out = run(&exe, &[&dir.path().join("chat.db")], &[]);
    assert!(out.contains("retry returned the original message"), "{out}");
    let missed: Vec<&str> = out.lines().filter(|l| l.starts_with("missed: ")).collect();
    assert_eq!(
        missed,
        [
            "missed: missed one",
            "missed: missed two",
            "missed: hello again, Bob (edited)"
        ],
        "{out}"
    );
    assert!(out.contains("pipelined: pipelined (seq "), "{out}");
    assert!(out.ends_with("chat: OK\n"), "{out}");
}

#[test]
fn c_chat_links_against_the_static_library() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("chat_static");
    let output = Command::new("cc")
        .args(C_FLAGS)
        .args(pkg_config(&["--cflags"]))
        .arg(repo().join("examples/c/chat.c"))
        .arg(package().join("lib/libember.a"))
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .output()
        .expect("cc runs");
    assert!(
        output.status.success(),
        "static link failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = Command::new(&exe)
        .arg(dir.path().join("chat.db"))
        .output()
        .expect("the static host runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.ends_with("chat: OK\n"),
        "{stdout}"
    );
}

#[test]
fn c_plugin_shouts_through_the_plugin_abi() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("plugin_shout");
    compile("cc", &["examples/c/plugin_shout.c"], &exe, C_FLAGS);
    let out = run(&exe, &[&dir.path().join("shout.db")], &[]);
    assert!(out.contains("posted: HELLO THERE"), "{out}");
    assert_eq!(out.matches("refused: ").count(), 2, "{out}");
    assert!(out.ends_with("plugin_shout: OK\n"), "{out}");
}

#[test]
fn c_chat_is_clean_under_address_sanitizer_or_valgrind() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let asan = dir.path().join("chat_asan");
    let mut flags = C_FLAGS.to_vec();
    flags.extend(["-fsanitize=address", "-fno-omit-frame-pointer"]);
    let probe = dir.path().join("probe.c");
    std::fs::write(&probe, "int main(void) { return 0; }\n").unwrap();
    let asan_works = Command::new("cc")
        .arg("-fsanitize=address")
        .arg(&probe)
        .arg("-o")
        .arg(dir.path().join("probe"))
        .output()
        .is_ok_and(|o| o.status.success());
    if asan_works {
        compile("cc", &["examples/c/chat.c"], &asan, &flags);
        // Leak detection is on by default; make any report fail the run.
        let out = run(
            &asan,
            &[&db],
            &[("ASAN_OPTIONS", "detect_leaks=1:exitcode=23")],
        );
        assert!(out.ends_with("chat: OK\n"), "{out}");
        return;
    }
    if tool_available("valgrind") {
        let exe = dir.path().join("chat");
        compile("cc", &["examples/c/chat.c"], &exe, C_FLAGS);
        let valgrind = Path::new("valgrind");
        let out = run(
            valgrind,
            &[
                Path::new("--error-exitcode=23"),
                Path::new("--leak-check=full"),
                Path::new("--errors-for-leak-kinds=definite"),
                &exe,
                &db,
            ],
            &[],
        );
        assert!(out.ends_with("chat: OK\n"), "{out}");
        return;
    }
    println!("SKIPPED: neither AddressSanitizer nor valgrind is available");
}

#[test]
fn cpp_raii_wrapper_runs() {
    if !tool_available("c++") {
        println!("SKIPPED: no c++ compiler on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("demo");
    compile("c++", &["examples/cpp/demo.cpp"], &exe, &["-std=c++17"]);
    let out = run(&exe, &[&dir.path().join("demo.db")], &[]);
    assert!(out.contains("missed: yes please"), "{out}");
    assert!(out.contains("pipelined: pipelined, notified 1"), "{out}");
    assert!(out.ends_with("cpp demo: OK\n"), "{out}");
}

#[test]
fn python_wrapper_test_passes() {
    if !tool_available("python3") {
        println!("SKIPPED: no python3 on PATH");
        return;
    }
    let lib = package().join("lib/libember.so");
    let script = repo().join("examples/python/test_ember.py");
    let out = run(
        Path::new("python3"),
        &[&script],
        &[("EMBER_LIB", lib.to_str().expect("a UTF-8 path"))],
    );
    assert!(out.contains("python: 5 passed, 0 failed"), "{out}");
    let demo = repo().join("examples/python/demo.py");
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        Path::new("python3"),
        &[&demo, &dir.path().join("demo.db")],
        &[("EMBER_LIB", lib.to_str().expect("a UTF-8 path"))],
    );
    assert!(out.contains("message_created: the roses are out"), "{out}");
}

/// Builds `ffi/tests/c/shutdown_and_misuse.c` with `extra` flags and runs it on a fresh
/// database, named a second way too (`dir/./shutdown.db`).
fn shutdown_and_misuse(extra: &[&str], env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("shutdown_and_misuse");
    let mut flags = C_FLAGS.to_vec();
    flags.extend(extra);
    flags.push("-pthread");
    compile("cc", &["ffi/tests/c/shutdown_and_misuse.c"], &exe, &flags);
    let db = dir.path().join("shutdown.db");
    let other_name = dir.path().join(".").join("shutdown.db");
    let out = run(&exe, &[&db, &other_name], env);
    assert!(out.ends_with("shutdown_and_misuse: OK\n"), "{out}");
}

#[test]
fn c_host_survives_shutdown_orders_and_misuse() {
    shutdown_and_misuse(&[], &[]);
}

#[test]
fn c_host_survives_shutdown_orders_and_misuse_under_address_sanitizer() {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.c");
    std::fs::write(&probe, "int main(void) { return 0; }\n").unwrap();
    let asan_works = Command::new("cc")
        .arg("-fsanitize=address")
        .arg(&probe)
        .arg("-o")
        .arg(dir.path().join("probe"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !asan_works {
        println!("SKIPPED: no AddressSanitizer");
        return;
    }
    shutdown_and_misuse(
        &["-fsanitize=address", "-fno-omit-frame-pointer"],
        &[("ASAN_OPTIONS", "detect_leaks=1:exitcode=23")],
    );
}
