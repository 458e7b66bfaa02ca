//! Shared by the integration tests and the fuzz targets (which include this file with
//! `#[path = "../../tests/common/mod.rs"] mod common;`), so that every invariant is written once.
//!
//! - [`response`]: the raw input format of the fuzz targets and of `tests/fuzz_regressions/`;
//! - [`invariants`]: what must hold of every normalized error, whatever the input;
//! - [`targets`]: the body of each fuzz target, replayed on stable by `tests/fuzz_regressions.rs`;
//! - [`vocab`]: what the tables name, from which generated inputs are built;
//! - [`wire`]: event-stream frames and base64, as tests build and read them.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub mod invariants;
pub mod response;
pub mod targets;
pub mod vocab;
pub mod wire;
