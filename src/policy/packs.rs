//! Policy packs: ready-made policies embedded in the binary, pulled in with
//! `extends = ["builtin:NAME"]` at the top of a policy.
//!
//! How a local policy builds on a pack:
//! - the pack's rules come first, in the pack's order, then the local rules;
//! - a local `[[rule]]` whose `id` is a pack rule's id does not add a rule: it
//!   sets keys of the pack's rule. Each key it gives replaces the pack's value
//!   for that key (a table such as `when` or `override` is replaced whole);
//!   keys it does not give keep the pack's value. Its `kind`, when given, must
//!   be the pack rule's kind. Every such rule is reported in the notices, so a
//!   reviewer sees what the local policy changed;
//! - some pack rules leave out what only the organisation knows (signing
//!   keys, check names, who signs off): a policy that extends the pack must
//!   set those keys, or it does not load;
//! - packs list only `version` and `[[rule]]`s, and do not extend other packs;
//!   when two extended packs define the same id, the later pack's rule wins.
//!
//! A diagnostic about a pack rule names the pack (`builtin:production`) and
//! the line in the pack; one about a key the local rule set points at the
//! local file.

/// A pack: its name after `builtin:` and its TOML text.
#[derive(Debug, Clone, Copy)]
pub struct Pack {
    pub name: &'static str,
    pub text: &'static str,
}

impl Pack {
    /// The name as written in `extends` and shown in diagnostics.
    pub fn origin(&self) -> String {
        format!("{PREFIX}{}", self.name)
    }
}

/// How pack names are written in `extends`.
pub const PREFIX: &str = "builtin:";

/// Every embedded pack.
pub static PACKS: &[Pack] = &[
    Pack {
        name: "baseline",
        text: include_str!("../../rules/packs/baseline.toml"),
    },
    Pack {
        name: "production",
        text: include_str!("../../rules/packs/production.toml"),
    },
];

/// The pack named `builtin:NAME`.
pub fn find(reference: &str) -> Option<&'static Pack> {
    let name = reference.strip_prefix(PREFIX)?;
    PACKS.iter().find(|p| p.name == name)
}

/// `builtin:baseline, builtin:production` for messages.
pub fn names() -> Vec<String> {
    PACKS.iter().map(Pack::origin).collect()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::decision::{Outcome, Verdict};
    use crate::engine::{EvalOptions, evaluate};
    use crate::policy::{Policy, PolicyError};
    use crate::rules::testing::facts;

    /// A pack of kinds this module can rely on, standing in for the real ones.
    static TEST_PACK: Pack = Pack {
        name: "test",
        text: r#"version = 1

[[rule]]
id = "window"
kind = "deploy-window"
timezone = "UTC"
allow = [{ days = "mon-fri", start = "09:00", end = "17:00" }]

[[rule]]
id = "green"
kind = "checks"

[[rule]]
id = "locked"
kind = "ref"
branches = ["main"]
overridable = false
"#,
    };

    fn find(reference: &str) -> Option<&'static Pack> {
        (reference == "builtin:test").then_some(&TEST_PACK)
    }

    fn load(local: &str) -> Result<Policy, PolicyError> {
        crate::policy::load::parse_with_packs("local.toml", local, find)
    }

    const COMPLETE: &str = r#"version = 1
extends = ["builtin:test"]

[[rule]]
id = "green"
required = ["build"]
"#;

    #[test]
    fn pack_rules_come_first_and_a_local_rule_completes_one() {
        let p = load(&format!(
            "{COMPLETE}\n[[rule]]\nid = \"mine\"\nkind = \"size\"\nmax_files = 3\n"
        ))
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
        let ids: Vec<&str> = p.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["window", "green", "locked", "mine"]);
        assert_eq!(p.rules[0].pack.as_deref(), Some("builtin:test"));
        assert_eq!(
            p.rules[1].pack, None,
            "set locally: it has a line in the policy file"
        );
        assert_eq!(p.rules[1].line, 4);
        assert!(
            p.notices
                .iter()
                .any(|n| n.starts_with("the policy extends builtin:test (3 rules"))
        );
        assert!(
            p.notices
                .contains(&"rule `green` of builtin:test is set by the local rule on line 4: required from the policy file".to_string()),
            "{:?}",
            p.notices
        );
    }

    #[test]
    fn a_local_rule_sets_keys_and_keeps_the_rest() {
        let p = load(&format!(
            "{COMPLETE}\n[[rule]]\nid = \"window\"\ntimezone = \"Europe/Berlin\"\n"
        ))
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
        let f = facts();
        // Mon 2026-11-23 08:30 UTC = 09:30 Berlin: open in Berlin, closed in UTC.
        let d = evaluate(
            &p,
            &f,
            EvalOptions {
                dry_run: true,
                ..EvalOptions::at(Utc.with_ymd_and_hms(2026, 11, 23, 8, 30, 0).unwrap())
            },
        );
        assert_eq!(d.rules[0].outcome, Outcome::Pass, "{:?}", d.rules[0]);
        assert_ne!(d.verdict, Verdict::Error);
    }

    #[test]
    fn a_missing_key_of_a_pack_rule_points_at_the_pack() {
        let e = load("version = 1\nextends = [\"builtin:test\"]\n").unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("builtin:test:9:1: missing key `required`"),
            "{text}"
        );
        let rendered = e.render(false);
        assert!(rendered.contains("[builtin:test:9:1]"), "{rendered}");
        assert!(
            rendered.contains("this rule comes from builtin:test: set or change its keys"),
            "{rendered}"
        );
    }

    #[test]
    fn a_bad_local_key_points_at_the_policy_file() {
        let e = load(&format!(
            "{COMPLETE}\n[[rule]]\nid = \"window\"\ntimezone = \"Europe/Berlinn\"\n"
        ))
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("local.toml:10:12: unknown time zone `Europe/Berlinn`"),
            "{text}"
        );
    }

    #[test]
    fn a_local_rule_cannot_change_the_kind_or_unlock_an_override() {
        let e = load(&format!(
            "{COMPLETE}\n[[rule]]\nid = \"window\"\nkind = \"size\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("cannot change its kind"), "{e}");
        let e = load(&format!(
            "{COMPLETE}\n[[rule]]\nid = \"locked\"\noverride = {{ labels = [\"x\"], approvers = [\"bob\"] }}\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("cannot make it overridable"), "{e}");
    }

    #[test]
    fn a_second_local_rule_with_a_pack_id_is_a_duplicate() {
        let e = load(&format!(
            "{COMPLETE}\n[[rule]]\nid = \"green\"\nkind = \"checks\"\nrequired = [\"x\"]\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("duplicate rule id `green`"), "{e}");
    }

    #[test]
    fn unknown_packs_are_diagnosed_with_the_known_ones() {
        let e = crate::policy::parse("p.toml", "version = 1\nextends = [\"builtin:prod\"]\n")
            .unwrap_err();
        let rendered = e.render(false);
        assert!(
            rendered.contains("unknown policy pack `builtin:prod`"),
            "{rendered}"
        );
        assert!(
            rendered.contains("builtin:baseline, builtin:production"),
            "{rendered}"
        );
    }
}
