//! Every environment variable gatehouse reads, as a named, documented constant.
//! One place to see what the program takes from its environment.

/// Variables of gatehouse itself.
pub mod gatehouse {
    /// Disables colour in every output when set to a non-empty value.
    pub const NO_COLOR: &str = "NO_COLOR";
}

/// Variables set by GitHub Actions.
pub mod github {}

/// Variables set by GitLab CI.
pub mod gitlab {}
