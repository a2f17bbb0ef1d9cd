//! strata: declarative layered warehouse pipelines (ODS -> DWD -> DWS -> ADS) on Apache
//! DataFusion.
//!
//! The library does all the work; the `strata` binary parses arguments, calls [`app`] and maps
//! the outcome to an exit code. Module map:
//! - [`model`]: pipeline file -> validated model (all problems collected, located).
//! - [`plan`]: dependency graph, layer rules, execution order, selection.
//! - [`engine`]: DataFusion session, UDFs, static validation, running a stage.
//! - [`storage`]: warehouse URLs, layout, releases.
//! - [`app`]: one function per subcommand, returning outcome values.
//! - [`report`]: the only module that prints.

pub mod app;
pub mod checks;
pub mod cli;
pub mod diag;
pub mod engine;
pub mod error;
pub mod generate;
pub mod model;
pub mod plan;
pub mod report;
pub mod settings;
pub mod storage;

pub use error::{Result, StrataError};
