//! Helpers shared by the integration tests (and, through `#[path]`, the parity example).

pub mod parity;
