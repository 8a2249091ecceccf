//! The functions under what goes wrong: crashes, storms of throttling, duplicate deliveries and
//! races, hostile events, and the least privilege they run with.

pub mod crash;
pub mod hostile;
pub mod privilege;
pub mod races;
pub mod redirect;
pub mod storm;
