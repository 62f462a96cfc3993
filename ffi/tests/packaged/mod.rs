//! libember as packagers ship it: `ffi/package.sh` run once per test binary over the
//! libraries cargo built with the tests, into `<lib_dir>/package-<test binary>/`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The directory holding the `libember.so` (and `.a`) cargo built with this test: the
/// test binary's `target/<profile>/deps/`, where rustc writes them, or `target/<profile>/`,
/// where cargo copies them when ember-ffi is built as a root package (not when it is only
/// a dependency, as in `cargo test --workspace`). The newer wins.
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let deps = exe
        .parent()
        .expect("the test binary lives in target/<profile>/deps");
    let candidates = [deps, deps.parent().unwrap_or(deps)];
    let modified = |dir: &Path| {
        std::fs::metadata(dir.join("libember.so"))
            .and_then(|m| m.modified())
            .ok()
    };
    candidates
        .iter()
        .filter_map(|d| modified(d).map(|t| (t, d.to_path_buf())))
        .max_by_key(|(t, _)| *t)
        .map(|(_, d)| d)
        .unwrap_or_else(|| {
            panic!(
                "no libember.so in {} or its parent; build it with `cargo build -p ember-ffi`",
                deps.display()
            )
        })
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ffi/ is inside the workspace")
        .to_path_buf()
}

/// The packaged tree (`include/`, `lib/`, `lib/pkgconfig/ember.pc`), made on first use.
pub fn package() -> &'static Path {
    static PACKAGE: OnceLock<PathBuf> = OnceLock::new();
    PACKAGE.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary has a path");
        let name = exe.file_name().expect("a file name").to_string_lossy();
        let out = lib_dir().join(format!("package-{name}"));
        let _ = std::fs::remove_dir_all(&out);
        let output = Command::new(repo().join("ffi/package.sh"))
            .arg(lib_dir())
            .arg(&out)
            .output()
            .expect("run ffi/package.sh");
        assert!(
            output.status.success(),
            "ffi/package.sh failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        out
    })
}

/// `pkg-config <args> ember` against the packaged `ember.pc`, split into arguments.
pub fn pkg_config(args: &[&str]) -> Vec<String> {
    let output = Command::new("pkg-config")
        .args(args)
        .arg("ember")
        .env("PKG_CONFIG_PATH", package().join("lib/pkgconfig"))
        .output()
        .expect("pkg-config runs (install the pkg-config package)");
    assert!(
        output.status.success(),
        "pkg-config {args:?} ember failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}
