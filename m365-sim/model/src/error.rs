//! Errors of the simulator's own API (start-up and admin operations), as opposed to the
//! Microsoft-shaped errors it serves to clients.

/// Error of a simulator operation.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listen address is invalid or not a loopback address.
    #[error("invalid listen address {0:?}: {1}")]
    Listen(String, String),
    /// Binding or serving failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The configured certificate could not be read.
    #[error("invalid certificate: {0}")]
    Certificate(String),
    /// An admin request was malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The tenant (or other object) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The object already exists.
    #[error("conflict: {0}")]
    Conflict(String),
}
