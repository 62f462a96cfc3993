//! `ember-server`: the standalone WebSocket server. Not built yet (see the ember-server
//! issue); until then the binary says so and exits with status 2.

fn main() {
    eprintln!(
        "ember-server {}: the WebSocket server is not implemented yet; \
         use the ember-engine library directly for now",
        env!("CARGO_PKG_VERSION")
    );
    std::process::exit(2);
}
