//! Opening a reading connection and naming its errors. Stands in until the store's shared
//! connection helper (`pg::conn`) lands; the readers then use that one.

use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, NoTls};

use crate::error::{Error, Result};

/// Longest wait for a connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest a statement may run before the server cancels it, so that no read hangs.
const STATEMENT_TIMEOUT_MS: u64 = 10_000;

/// The connection settings for `url`, with the timeouts every connection gets.
pub(crate) fn config(url: &str, application: &str) -> Result<postgres::Config> {
    let mut config: postgres::Config = url.parse().map_err(|e| Error::Open {
        path: url.to_owned(),
        reason: format!("not a PostgreSQL URL: {e}"),
    })?;
    config
        .application_name(application)
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_user_timeout(Duration::from_millis(STATEMENT_TIMEOUT_MS))
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(10))
        .options(&format!("-c statement_timeout={STATEMENT_TIMEOUT_MS}"));
    Ok(config)
}

/// A new connection; `Unavailable` when the server cannot be reached.
pub(crate) fn connect(config: &postgres::Config) -> Result<Client> {
    config
        .connect(NoTls)
        .map_err(|e| Error::Unavailable(e.to_string()))
}

/// The engine's error for a failed call: `Unavailable` when the connection or the server
/// is gone, `Storage` for any other failure.
pub(crate) fn error(e: postgres::Error) -> Error {
    if lost_connection(&e) {
        Error::Unavailable(e.to_string())
    } else {
        Error::Storage(e.to_string())
    }
}

fn lost_connection(e: &postgres::Error) -> bool {
    if let Some(code) = e.code() {
        return code.code().starts_with("08")
            || [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::TOO_MANY_CONNECTIONS,
            ]
            .contains(code);
    }
    e.is_closed()
        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        || e.to_string().starts_with("timeout waiting for server")
}
