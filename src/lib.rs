//! gatehouse: a CI/CD enforcement gate.
//!
//! Data flow: [`sources`] gather [`facts::Facts`]; [`engine`] evaluates a
//! [`policy::Policy`] (whose rules live in [`rules`]) into a
//! [`decision::Decision`]; [`report`] renders it; [`exit`] maps it to an exit code.

pub mod app;
pub mod audit;
pub mod cli;
pub mod codeowners;
pub mod decision;
pub mod engine;
pub mod env_vars;
pub mod exit;
pub mod explain;
pub mod facts;
pub mod hook;
pub mod overrides;
pub mod pattern;
pub mod policy;
pub mod report;
pub mod rules;
pub mod runtime;
pub mod sanitize;
pub mod signing;
pub mod sources;
pub mod tls;
pub mod trailers;
