//! The Logs model without I/O: request types and their validation into typed commands, resource
//! types and their wire views, ARNs, and pagination tokens.

pub mod arn;
pub mod cloudtrail;
pub mod datapoints;
pub mod events;
pub mod exports;
pub mod identifiers;
pub mod logs;
pub mod metric;
pub mod policies;
pub mod subscriptions;
pub mod tagging;
pub mod token;
pub mod validate;

pub use token::TokenCodec;
pub use validate::Violations;
