//! The libraries packagers ship (`ffi/package.sh`) make only the C ABI visible: no SQLite
//! (or Rust) symbol is global in `libember.a` or exported by `libember.so`, so a host that
//! also links the system SQLite gets its own, without duplicate symbols. `libember.so`
//! carries the ABI version in its SONAME.

mod packaged;

use std::path::Path;
use std::process::Command;

use ember::EMBER_ABI_VERSION;
use packaged::{package, pkg_config};

/// The defined global symbols `nm <args> <file>` lists.
fn defined_globals(args: &[&str], file: &Path) -> Vec<String> {
    let output = Command::new("nm")
        .args(args)
        .arg(file)
        .output()
        .expect("nm runs (binutils)");
    assert!(
        output.status.success(),
        "nm {args:?} {} failed:\n{}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            (fields.len() == 3).then(|| fields[2].to_owned())
        })
        .collect()
}

fn assert_only_ember(symbols: &[String], what: &str) {
    let others: Vec<&String> = symbols
        .iter()
        .filter(|s| !s.starts_with("ember_"))
        .collect();
    let sqlite = others.iter().filter(|s| s.starts_with("sqlite3")).count();
    assert!(
        others.is_empty(),
        "{what} makes {} symbols besides ember_* global ({sqlite} of SQLite), e.g. {:?}",
        others.len(),
        &others[..others.len().min(5)]
    );
    assert!(
        symbols.iter().any(|s| s == "ember_engine_open"),
        "{what} lacks the C ABI"
    );
}

#[test]
fn the_static_library_makes_only_ember_symbols_global() {
    let archive = package().join("lib/libember.a");
    assert_only_ember(
        &defined_globals(&["-g", "--defined-only"], &archive),
        "libember.a",
    );
}

#[test]
fn the_shared_library_exports_only_ember_symbols_and_names_its_abi() {
    let lib = package().join(format!("lib/libember.so.{EMBER_ABI_VERSION}"));
    assert_only_ember(
        &defined_globals(&["-D", "--defined-only"], &lib),
        "libember.so",
    );
    let dynamic = Command::new("readelf")
        .arg("-d")
        .arg(&lib)
        .output()
        .expect("readelf runs (binutils)");
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    assert!(
        dynamic.contains(&format!(
            "Library soname: [libember.so.{EMBER_ABI_VERSION}]"
        )),
        "{dynamic}"
    );
}

#[test]
fn a_host_links_the_system_sqlite_next_to_the_static_library() {
    if !Path::new("/usr/include/sqlite3.h").exists() {
        // scripts/test installs it; CI must not skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "no system SQLite headers: install libsqlite3-dev (scripts/test does)"
        );
        eprintln!("SKIPPED: no system SQLite headers (libsqlite3-dev); scripts/test installs them");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("both.c");
    std::fs::write(
        &source,
        "#include <sqlite3.h>\n#include <stdio.h>\n#include <string.h>\n#include \"ember.h\"\n\
         int main(void) {\n\
             /* The library's own version, not the one compiled into libember. */\n\
             if (strcmp(sqlite3_libversion(), SQLITE_VERSION) != 0) return 1;\n\
             printf(\"%s %s\\n\", sqlite3_libversion(), ember_version());\n\
             return ember_abi_version() == EMBER_ABI_VERSION ? 0 : 2;\n\
         }\n",
    )
    .unwrap();
    let exe = dir.path().join("both");
    let built = Command::new("cc")
        .args(pkg_config(&["--cflags"]))
        .arg(&source)
        .arg(package().join("lib/libember.a"))
        .args(["-lsqlite3", "-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .output()
        .expect("cc runs");
    assert!(
        built.status.success(),
        "linking libember.a with -lsqlite3 failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let ran = Command::new(&exe).output().expect("the host runs");
    assert!(
        ran.status.success(),
        "the host got the wrong SQLite or ABI ({}): {}",
        ran.status,
        String::from_utf8_lossy(&ran.stdout)
    );
}
