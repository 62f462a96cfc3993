//! Link settings of libember on Linux:
//!
//! - `libember.so` gets the SONAME `libember.so.<EMBER_ABI_VERSION>`, so that hosts bind to
//!   the ABI they were built against (`ffi/package.sh` installs the matching file names).
//! - Test hosts load C plugins that call libember back through the executable: export the
//!   `ember_*` symbols from the integration test binaries (see `load_plugin`).
//!
//! `libember.so` exports only the `ember_*` functions already: rustc hides everything else
//! in a cdylib, SQLite included (checked by `tests/libraries_export_only_ember_symbols.rs`).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/engine.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let abi = abi_version();
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libember.so.{abi}");
        println!("cargo:rustc-link-arg-tests=-Wl,--export-dynamic-symbol=ember_*");
    }
}

/// `EMBER_ABI_VERSION` as written in `src/engine.rs`.
fn abi_version() -> u32 {
    let source = std::fs::read_to_string("src/engine.rs").expect("read src/engine.rs");
    source
        .lines()
        .find_map(|l| l.strip_prefix("pub const EMBER_ABI_VERSION: u32 = "))
        .and_then(|v| v.trim_end_matches(';').trim().parse().ok())
        .expect("src/engine.rs defines `pub const EMBER_ABI_VERSION: u32 = <n>;`")
}
