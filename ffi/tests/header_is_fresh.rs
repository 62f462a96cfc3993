//! `include/ember.h` is what cbindgen generates from the crate right now.
//!
//! When the C ABI changes, regenerate the committed header with
//! `EMBER_BLESS=1 cargo test -p ember-ffi --test header_is_fresh`.

use std::path::Path;

#[test]
fn committed_header_matches_the_generated_one() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("ffi/cbindgen.toml is readable");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");

    let header = crate_dir.join("../include/ember.h");
    if std::env::var_os("EMBER_BLESS").is_some() {
        std::fs::write(&header, &generated).expect("include/ember.h is writable");
        return;
    }
    let committed = std::fs::read_to_string(&header).unwrap_or_default();
    assert!(
        committed == generated,
        "include/ember.h is stale: the C ABI in ffi/src changed.\n\
         Regenerate it with: EMBER_BLESS=1 cargo test -p ember-ffi --test header_is_fresh"
    );
}
