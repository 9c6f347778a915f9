//! Where records are written: one module per kind of sink.

pub mod file;
pub mod http;
pub mod postgres;
