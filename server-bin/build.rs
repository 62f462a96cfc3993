//! `--plugin` libraries call libember back through the server executable: export its
//! `ember_*` symbols to them (see `ember::load_plugin`).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol=ember_*");
    }
}
