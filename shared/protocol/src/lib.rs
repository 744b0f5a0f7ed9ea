//! The AWS JSON 1.1 wire protocol as Logbook speaks it.
//!
//! Every action travels as `POST` with an `X-Amz-Target` header. This crate turns that header into a
//! typed [`Action`], has the caller authenticated into an [`Identity`] (by `logbook-auth`, before
//! anything else), and runs one decode → call → encode [`pipeline`] that every group function
//! shares, so no handler can forget a protocol rule.

pub mod action;
pub mod error;
pub mod identity;
pub mod pipeline;

pub use action::{Action, Group, GroupOp, Route, Service, Target, ops};
pub use error::{ApiError, ErrorCode};
pub use identity::Identity;
pub use pipeline::{AuditSink, Authenticate, Call, Dispatch};

/// Logs to stderr (CloudWatch in AWS, the terminal under `cargo lambda watch`); `RUST_LOG` filters.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .without_time()
        .with_ansi(false)
        .try_init();
}
