//! The one HTTP client every Microsoft call goes through.

use std::time::Duration;

/// A client with timeouts: no Microsoft call may hang a function until its deadline.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("m365-inline/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}
