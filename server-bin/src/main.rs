//! `ember-server`: the standalone Ember chat server and its admin commands.

use clap::Parser;

fn main() {
    let cli = ember_server::cli::Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if let Err(e) = ember_server::cli::run(cli) {
        eprintln!("ember-server: {e}");
        std::process::exit(1);
    }
}
