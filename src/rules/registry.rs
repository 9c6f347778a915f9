//! The list of rule kinds. A kind is known to the policy loader, the JSON
//! schema and `gatehouse explain` exactly when it is listed in [`KINDS`].

use schemars::{Schema, SchemaGenerator};

use super::{ConfigError, Rule, RuleConfig, build};
use super::{
    checks, dco, deploy_signoff, deploy_window, message, refs, review, signed_commits, size,
};

/// A rule kind: its name in `kind = "…"`, how to build it, how to document it.
pub struct RuleKind {
    pub name: &'static str,
    /// A complete `[[rule]]` example, shown by `gatehouse explain` and checked by tests.
    pub example: &'static str,
    pub build: fn(toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Rule>, ConfigError>,
    /// The JSON schema of the kind's own keys; its description is the config
    /// type's doc comment.
    pub schema: fn(&mut SchemaGenerator) -> Schema,
}

impl RuleKind {
    const fn of<C: RuleConfig>(name: &'static str, example: &'static str) -> RuleKind {
        RuleKind {
            name,
            example,
            build: build::<C>,
            schema: C::json_schema,
        }
    }
}

/// Every rule kind, in the order `gatehouse explain` lists them.
pub static KINDS: &[RuleKind] = &[
    RuleKind::of::<refs::RefConfig>("ref", refs::EXAMPLE),
    RuleKind::of::<message::MessageConfig>("message", message::EXAMPLE),
    RuleKind::of::<review::ReviewConfig>("review", review::EXAMPLE),
    RuleKind::of::<dco::DcoConfig>("dco", dco::EXAMPLE),
    RuleKind::of::<signed_commits::SignedCommitsConfig>("signed-commits", signed_commits::EXAMPLE),
    RuleKind::of::<deploy_signoff::DeploySignoffConfig>("deploy-signoff", deploy_signoff::EXAMPLE),
    RuleKind::of::<deploy_window::DeployWindowConfig>("deploy-window", deploy_window::EXAMPLE),
    RuleKind::of::<checks::ChecksConfig>("checks", checks::EXAMPLE),
    RuleKind::of::<size::SizeConfig>("size", size::EXAMPLE),
];

pub fn find(name: &str) -> Option<&'static RuleKind> {
    KINDS.iter().find(|k| k.name == name)
}

pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}
