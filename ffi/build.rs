//! Test hosts load C plugins that call libember back through the executable: export the
//! `ember_*` symbols from the integration test binaries (see `load_plugin`).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-tests=-Wl,--export-dynamic-symbol=ember_*");
    }
}
