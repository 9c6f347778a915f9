//! TOML -> [`Policy`], keeping spans so every error points at its text.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use miette::NamedSource;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::error::DiagnosticKind;
use super::packs::{self, Pack};
use super::{AuditConfig, Policy, PolicyDiagnostic, PolicyError, PolicyRule, Severity, WhenConfig};
use crate::overrides::{Overridability, OverrideConfig};
use crate::rules::{self, ConfigError};

/// Keys every `[[rule]]` table may have, whatever its kind.
pub const COMMON_RULE_KEYS: [&str; 7] = [
    "id",
    "kind",
    "severity",
    "description",
    "when",
    "override",
    "overridable",
];

/// Top-level keys of a policy file.
const TOP_LEVEL_KEYS: [&str; 4] = ["version", "extends", "audit", "rule"];

/// The policy format versions this gatehouse understands.
const SUPPORTED_VERSION: u32 = 1;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopLevel {
    version: Option<Spanned<u32>>,
    /// Packs whose rules this policy builds on (`builtin:baseline`).
    #[serde(default)]
    extends: Vec<Spanned<String>>,
    #[serde(default)]
    audit: AuditConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleCommon {
    id: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    severity: Severity,
    description: Option<String>,
    #[serde(default)]
    when: WhenConfig,
    /// Break-glass: see [`crate::overrides`].
    #[serde(rename = "override")]
    override_config: Option<Spanned<OverrideConfig>>,
    overridable: Option<bool>,
}

/// Parse and validate a policy. `origin` names the file in diagnostics.
///
/// All problems found are reported together, not just the first.
pub fn parse(origin: &str, text: &str) -> Result<Policy, PolicyError> {
    parse_with_packs(origin, text, packs::find)
}

/// [`parse`] with another set of packs (tests use packs of their own).
pub(crate) fn parse_with_packs(
    origin: &str,
    text: &str,
    find_pack: fn(&str) -> Option<&'static Pack>,
) -> Result<Policy, PolicyError> {
    let mut diags = Vec::new();
    let policy = parse_inner(text, &mut diags, find_pack);
    match policy {
        Some(mut policy) if diags.is_empty() => {
            policy.origin = origin.to_string();
            Ok(policy)
        }
        _ => {
            let shared: Arc<str> = Arc::from(text);
            let source = NamedSource::new(origin, shared.clone()).with_language("toml");
            Err(PolicyError::Invalid {
                origin: origin.to_string(),
                text: shared,
                diagnostics: diags
                    .into_iter()
                    .map(|d| {
                        if d.has_source() {
                            d
                        } else {
                            d.with_source(source.clone())
                        }
                    })
                    .collect(),
            })
        }
    }
}

fn parse_inner(
    text: &str,
    diags: &mut Vec<PolicyDiagnostic>,
    find_pack: fn(&str) -> Option<&'static Pack>,
) -> Option<Policy> {
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            diags.push(
                PolicyDiagnostic::new(DiagnosticKind::Syntax, "TOML syntax error")
                    .at(e.span(), e.message().to_string())
                    .help("check quoting, brackets and that each key is `name = value`"),
            );
            return None;
        }
    };
    let root_span = root.span();
    let mut top = DeTable::new();
    let mut rule_value = None;
    for (key, value) in root.into_inner() {
        if key.get_ref() == "rule" {
            rule_value = Some(value);
        } else {
            top.insert(key, value);
        }
    }

    let top_level = deserialize::<TopLevel>(top, root_span.clone(), &TOP_LEVEL_KEYS, diags);
    let version = match top_level.as_ref().map(|t| t.version.as_ref()) {
        Some(Some(v)) if *v.get_ref() == SUPPORTED_VERSION => Some(SUPPORTED_VERSION),
        Some(Some(v)) => {
            diags.push(
                PolicyDiagnostic::new(
                    DiagnosticKind::UnsupportedVersion,
                    format!("unsupported policy version {}", v.get_ref()),
                )
                .at(Some(v.span()), "this version")
                .help(format!(
                    "this gatehouse reads `version = {SUPPORTED_VERSION}`"
                )),
            );
            None
        }
        Some(None) => {
            diags.push(
                PolicyDiagnostic::new(DiagnosticKind::MissingKey, "missing `version`")
                    .at(Some(0..0), "expected here")
                    .help(format!(
                        "start the policy with `version = {SUPPORTED_VERSION}`"
                    )),
            );
            None
        }
        None => None,
    };

    let mut notices = Vec::new();
    let extends = top_level
        .as_ref()
        .map(|t| t.extends.as_slice())
        .unwrap_or_default();
    let raw = pack_rules(extends, find_pack, diags, &mut notices);
    let local = match rule_value {
        None => Vec::new(),
        Some(value) => rule_tables(value, diags),
    };
    let rules = build_rules(text, raw, local, diags, &mut notices);

    if let Some(top) = &top_level {
        for sink in &top.audit.sinks {
            if let Err(e) = crate::audit::SinkSpec::parse(sink.get_ref()) {
                diags.push(
                    PolicyDiagnostic::new(DiagnosticKind::BadValue, "not an audit sink")
                        .at(Some(sink.span()), e)
                        .help("write `file:PATH`, `postgres://…` or `https://…`"),
                );
            }
        }
    }

    Some(Policy {
        origin: String::new(),
        digest: super::digest(text.as_bytes()),
        version: version?,
        audit: top_level?.audit,
        rules,
        notices,
    })
}

/// The `[[rule]]` tables of a `rule` value, each with its span.
fn rule_tables<'a>(
    value: Spanned<DeValue<'a>>,
    diags: &mut Vec<PolicyDiagnostic>,
) -> Vec<(DeTable<'a>, Range<usize>)> {
    let span = value.span();
    let DeValue::Array(array) = value.into_inner() else {
        diags.push(
            PolicyDiagnostic::new(
                DiagnosticKind::WrongType,
                "`rule` must be an array of tables",
            )
            .at(Some(span), "not an array of tables")
            .help("write each rule as a `[[rule]]` table"),
        );
        return Vec::new();
    };
    let mut tables = Vec::new();
    for item in array {
        let item_span = item.span();
        let DeValue::Table(table) = item.into_inner() else {
            diags.push(
                PolicyDiagnostic::new(DiagnosticKind::WrongType, "a rule must be a table")
                    .at(Some(item_span), "not a table")
                    .help("write each rule as a `[[rule]]` table"),
            );
            continue;
        };
        tables.push((table, item_span));
    }
    tables
}

/// A rule table before it is built: from a pack (possibly with keys set by a
/// local rule of the same id) or from the policy file itself.
struct RawRule<'a> {
    table: DeTable<'a>,
    /// The table's span in its home text (the pack's, or the policy file's).
    span: Range<usize>,
    pack: Option<&'static Pack>,
    /// When a local rule set keys of this pack rule: the local rule's span and
    /// the spans of the keys (with their values) it set.
    local: Option<(Range<usize>, Vec<Range<usize>>)>,
}

/// The string value of `key` in a rule table, with its span.
fn string_key(table: &DeTable<'_>, key: &str) -> Option<(String, Range<usize>)> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .and_then(|(_, v)| match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), v.span())),
            _ => None,
        })
}

/// The rules of every pack in `extends`, in order; a later pack's rule
/// replaces an earlier pack's rule of the same id.
fn pack_rules(
    extends: &[Spanned<String>],
    find_pack: fn(&str) -> Option<&'static Pack>,
    diags: &mut Vec<PolicyDiagnostic>,
    notices: &mut Vec<String>,
) -> Vec<RawRule<'static>> {
    let mut raw: Vec<RawRule<'static>> = Vec::new();
    for entry in extends {
        let Some(pack) = find_pack(entry.get_ref()) else {
            let known = packs::names();
            let mut d = PolicyDiagnostic::new(
                DiagnosticKind::BadValue,
                format!("unknown policy pack `{}`", entry.get_ref()),
            )
            .at(Some(entry.span()), "no such pack");
            let candidate = format!("{}{}", packs::PREFIX, entry.get_ref());
            let guess = did_you_mean(entry.get_ref(), known.iter().map(String::as_str))
                .map(str::to_string)
                .or_else(|| known.iter().find(|k| **k == candidate).cloned());
            d = match guess {
                Some(g) => d.help(format!("did you mean `{g}`? (packs: {})", known.join(", "))),
                None => d.help(format!(
                    "packs are written `builtin:NAME`; this gatehouse has {}",
                    known.join(", ")
                )),
            };
            diags.push(d);
            continue;
        };
        let mut pack_diags = Vec::new();
        let tables = pack_tables(pack, &mut pack_diags);
        diags.extend(pack_diags.into_iter().map(|d| in_pack(d, pack, None)));
        let count = tables.len();
        for (table, span) in tables {
            let id = string_key(&table, "id").map(|(id, _)| id);
            if let Some(id) = &id
                && let Some(i) = raw
                    .iter()
                    .position(|r| string_key(&r.table, "id").is_some_and(|(other, _)| &other == id))
            {
                notices.push(format!(
                    "rule `{id}` of {} is replaced by the one of {}",
                    raw[i].pack.map_or_else(String::new, Pack::origin),
                    pack.origin()
                ));
                raw.remove(i);
            }
            raw.push(RawRule {
                table,
                span,
                pack: Some(pack),
                local: None,
            });
        }
        notices.push(format!(
            "the policy extends {} ({count} rules, embedded in this gatehouse {}; digest {})",
            pack.origin(),
            env!("CARGO_PKG_VERSION"),
            &super::digest(pack.text.as_bytes())[..19]
        ));
    }
    raw
}

/// The rule tables of a pack, checking its top level (`version` only).
fn pack_tables(
    pack: &'static Pack,
    diags: &mut Vec<PolicyDiagnostic>,
) -> Vec<(DeTable<'static>, Range<usize>)> {
    let root = match DeTable::parse(pack.text) {
        Ok(root) => root,
        Err(e) => {
            diags.push(
                PolicyDiagnostic::new(DiagnosticKind::Syntax, "TOML syntax error in a pack")
                    .at(e.span(), e.message().to_string()),
            );
            return Vec::new();
        }
    };
    let mut tables = Vec::new();
    for (key, value) in root.into_inner() {
        match key.get_ref().as_ref() {
            "rule" => tables = rule_tables(value, diags),
            "version" if matches!(value.get_ref(), DeValue::Integer(_)) => {}
            other => diags.push(
                PolicyDiagnostic::new(
                    DiagnosticKind::UnknownKey,
                    format!("a pack has only `version` and `[[rule]]`s, not `{other}`"),
                )
                .at(Some(key.span()), "not allowed in a pack"),
            ),
        }
    }
    tables
}

/// Attribute a diagnostic to a pack: its source is the pack's text, and the
/// help says how to complete or tighten the rule locally.
fn in_pack(d: PolicyDiagnostic, pack: &Pack, rule_id: Option<&str>) -> PolicyDiagnostic {
    let source = NamedSource::new(pack.origin(), Arc::<str>::from(pack.text)).with_language("toml");
    let d = match rule_id {
        Some(id) => {
            let hint = format!(
                "this rule comes from {}: set or change its keys with a local `[[rule]]` with `id = \"{id}\"`",
                pack.origin()
            );
            let help = match &d.help {
                Some(h) => format!("{h}\n{hint}"),
                None => hint,
            };
            d.help(help)
        }
        None => d,
    };
    d.with_source(source)
}

/// Merge the local rule tables into the pack rules, then build every rule.
fn build_rules<'a>(
    text: &str,
    mut raw: Vec<RawRule<'a>>,
    local: Vec<(DeTable<'a>, Range<usize>)>,
    diags: &mut Vec<PolicyDiagnostic>,
    notices: &mut Vec<String>,
) -> Vec<PolicyRule> {
    let mut seen: HashMap<String, Range<usize>> = HashMap::new();
    for (table, span) in local {
        let id = string_key(&table, "id");
        let target = id.as_ref().and_then(|(id, _)| {
            raw.iter().position(|r| {
                r.pack.is_some()
                    && r.local.is_none()
                    && string_key(&r.table, "id").is_some_and(|(other, _)| &other == id)
            })
        });
        let (Some(i), Some((id, id_span))) = (target, id) else {
            raw.push(RawRule {
                table,
                span,
                pack: None,
                local: None,
            });
            continue;
        };
        let pack = raw[i].pack.map_or_else(String::new, Pack::origin);
        let pack_kind = string_key(&raw[i].table, "kind").map(|(k, _)| k);
        if let Some((kind, kind_span)) = string_key(&table, "kind")
            && Some(&kind) != pack_kind.as_ref()
        {
            diags.push(
                PolicyDiagnostic::new(
                    DiagnosticKind::BadValue,
                    format!(
                        "rule `{id}` of {pack} is of kind `{}`; a local rule with its id sets its keys and cannot change its kind",
                        pack_kind.unwrap_or_default()
                    ),
                )
                .at(Some(kind_span), "a different kind")
                .help("leave out `kind`, or give the local rule another id to add a rule of its own"),
            );
            continue;
        }
        let pack_forbids = raw[i].table.iter().any(|(k, v)| {
            k.get_ref().as_ref() == "overridable" && matches!(v.get_ref(), DeValue::Boolean(false))
        });
        if pack_forbids
            && let Some((k, _)) = table
                .iter()
                .find(|(k, _)| matches!(k.get_ref().as_ref(), "override" | "overridable"))
        {
            diags.push(
                PolicyDiagnostic::new(
                    DiagnosticKind::BadValue,
                    format!("rule `{id}` of {pack} is `overridable = false`; a local rule cannot make it overridable"),
                )
                .at(Some(k.span()), "not allowed for this rule")
                .help("the pack forbids break-glass for this rule; remove this key"),
            );
            continue;
        }
        seen.insert(id.clone(), id_span);
        let mut keys: Vec<String> = Vec::new();
        let mut spans = Vec::new();
        for (k, v) in &table {
            if k.get_ref().as_ref() != "id" {
                keys.push(k.get_ref().to_string());
            }
            spans.push(k.span().start.min(v.span().start)..k.span().end.max(v.span().end));
        }
        let pack_table = std::mem::take(&mut raw[i].table);
        let mut merged: DeTable<'a> = pack_table
            .into_iter()
            .filter(|(k, _)| !table.iter().any(|(lk, _)| lk.get_ref() == k.get_ref()))
            .collect();
        merged.extend(table);
        raw[i].table = merged;
        raw[i].local = Some((span.clone(), spans));
        notices.push(format!(
            "rule `{id}` of {pack} is set by the local rule on line {}: {}",
            line_of(text, span.start),
            if keys.is_empty() {
                "no keys changed".to_string()
            } else {
                format!("{} from the policy file", keys.join(", "))
            }
        ));
    }

    let mut rules = Vec::new();
    for r in raw {
        match r.pack {
            None => {
                if let Some(rule) = parse_rule(text, r.table, r.span, &mut seen, diags) {
                    rules.push(rule);
                }
            }
            Some(pack) => {
                let id = string_key(&r.table, "id").map(|(id, _)| id);
                let mut rule_diags = Vec::new();
                let line = match &r.local {
                    Some((local_span, _)) => line_of(text, local_span.start),
                    None => line_of(pack.text, r.span.start),
                };
                let built = parse_rule(
                    pack.text,
                    r.table,
                    r.span,
                    &mut HashMap::new(),
                    &mut rule_diags,
                );
                for d in rule_diags {
                    let local_key = r.local.as_ref().is_some_and(|(_, spans)| {
                        d.span.as_ref().is_some_and(|s| {
                            spans.iter().any(|k| k.start <= s.start && s.end <= k.end)
                        })
                    });
                    diags.push(if local_key {
                        d
                    } else {
                        in_pack(d, pack, id.as_deref())
                    });
                }
                if let Some(mut rule) = built {
                    rule.line = line;
                    if r.local.is_none() {
                        rule.pack = Some(pack.origin());
                    }
                    rules.push(rule);
                }
            }
        }
    }
    rules
}

fn parse_rule(
    text: &str,
    table: DeTable<'_>,
    span: Range<usize>,
    seen: &mut HashMap<String, Range<usize>>,
    diags: &mut Vec<PolicyDiagnostic>,
) -> Option<PolicyRule> {
    let (common, specific): (Vec<_>, Vec<_>) = table
        .into_iter()
        .partition(|(k, _)| COMMON_RULE_KEYS.contains(&k.get_ref().as_ref()));
    let specific: DeTable<'_> = specific.into_iter().collect();
    let common: DeTable<'_> = common.into_iter().collect();

    let common = deserialize::<RuleCommon>(common, span.clone(), &COMMON_RULE_KEYS, diags)?;

    let id = common.id.get_ref();
    if !is_kebab_case(id) {
        diags.push(
            PolicyDiagnostic::new(
                DiagnosticKind::InvalidRuleId,
                format!("rule id `{id}` is not kebab-case"),
            )
            .at(Some(common.id.span()), "invalid id")
            .help(format!(
                "use lowercase letters, digits and single dashes, for example `{}`",
                to_kebab_case(id)
            )),
        );
    }
    if let Some(first) = seen.get(id) {
        diags.push(
            PolicyDiagnostic::new(
                DiagnosticKind::DuplicateRuleId,
                format!("duplicate rule id `{id}`"),
            )
            .at(Some(common.id.span()), "defined again here")
            .help(format!(
                "rule ids must be unique; the first `{id}` is on line {} — rename one of them",
                line_of(text, first.start)
            )),
        );
    } else {
        seen.insert(id.clone(), common.id.span());
    }

    let Some(kind) = rules::registry::find(common.kind.get_ref()) else {
        let names = rules::registry::names();
        let mut diag = PolicyDiagnostic::new(
            DiagnosticKind::UnknownRuleKind,
            format!("unknown rule kind `{}`", common.kind.get_ref()),
        )
        .at(Some(common.kind.span()), "unknown kind");
        diag = match did_you_mean(common.kind.get_ref(), names.iter().copied()) {
            Some(s) => diag.help(format!(
                "did you mean `{s}`? (known kinds: {})",
                names.join(", ")
            )),
            None => diag.help(format!("known kinds: {}", names.join(", "))),
        };
        diags.push(diag);
        return None;
    };

    let when = match common.when.compile() {
        Ok(w) => Some(w),
        Err(errors) => {
            diags.extend(errors);
            None
        }
    };

    let overrides = match Overridability::from_config(common.override_config, common.overridable) {
        Ok(o) => Some(o),
        Err(errors) => {
            diags.extend(errors);
            None
        }
    };

    let de = ValueDeserializer::from(Spanned::new(span.clone(), DeValue::Table(specific)));
    let rule = match (kind.build)(de) {
        Ok(rule) => Some(rule),
        Err(ConfigError::Toml(e)) => {
            diags.push(from_toml_error(&e, Some(span.clone()), &COMMON_RULE_KEYS));
            None
        }
        Err(ConfigError::Invalid(errors)) => {
            diags.extend(errors.into_iter().map(|d| match d.span {
                Some(_) => d,
                None => d.at(Some(span.clone()), "in this rule"),
            }));
            None
        }
    };

    Some(PolicyRule {
        id: common.id.into_inner(),
        kind: kind.name,
        severity: common.severity,
        description: common.description,
        when: when?,
        overrides: overrides?,
        line: line_of(text, span.start),
        pack: None,
        rule: rule?,
    })
}

/// Deserialize a table with `T`, turning a failure into a diagnostic.
/// `extra_keys` are offered as "did you mean" candidates besides the ones serde names.
fn deserialize<T: serde::de::DeserializeOwned>(
    table: DeTable<'_>,
    span: Range<usize>,
    extra_keys: &[&str],
    diags: &mut Vec<PolicyDiagnostic>,
) -> Option<T> {
    let de = ValueDeserializer::from(Spanned::new(span.clone(), DeValue::Table(table)));
    match T::deserialize(de) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(from_toml_error(&e, Some(span), extra_keys));
            None
        }
    }
}

/// Classify a serde/toml error into a diagnostic with a helpful hint.
pub(crate) fn from_toml_error(
    e: &toml::de::Error,
    fallback_span: Option<Range<usize>>,
    extra_keys: &[&str],
) -> PolicyDiagnostic {
    let message = e.message().trim();
    let span = e.span().or(fallback_span);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = split_unknown(rest);
        let mut candidates = expected.clone();
        candidates.extend(extra_keys.iter().map(|k| k.to_string()));
        let diag =
            PolicyDiagnostic::new(DiagnosticKind::UnknownKey, format!("unknown key `{field}`"))
                .at(span, "not a known key here");
        return match did_you_mean(&field, candidates.iter().map(String::as_str)) {
            Some(s) => diag.help(format!("did you mean `{s}`?")),
            None if expected.is_empty() => diag.help("this table takes no keys of its own"),
            None => diag.help(format!("expected one of: {}", expected.join(", "))),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, expected) = split_unknown(rest);
        let diag =
            PolicyDiagnostic::new(DiagnosticKind::BadValue, format!("unknown value `{value}`"))
                .at(span, "not allowed here");
        return match did_you_mean(&value, expected.iter().map(String::as_str)) {
            Some(s) => diag.help(format!(
                "did you mean `{s}`? (allowed: {})",
                expected.join(", ")
            )),
            None => diag.help(format!("allowed: {}", expected.join(", "))),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return PolicyDiagnostic::new(DiagnosticKind::MissingKey, format!("missing key `{field}`"))
            .at(span, format!("`{field}` is required in this table"))
            .help(format!(
                "add `{field} = …`; `gatehouse explain <kind>` shows every key"
            ));
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another type"));
        let expected = plain_type_name(expected);
        return PolicyDiagnostic::new(
            DiagnosticKind::WrongType,
            format!("wrong type: found {found}, expected {expected}"),
        )
        .at(span, format!("expected {expected}"))
        .help("check the value's type: strings are quoted, lists use [ ], tables use { }");
    }
    PolicyDiagnostic::new(DiagnosticKind::BadValue, message.to_string()).at(span, "invalid value")
}

/// serde's type words in the user's terms (TOML has lists and tables).
fn plain_type_name(serde_name: &str) -> &str {
    match serde_name {
        "a sequence" => "a list `[…]`",
        "a map" => "a table `{ … }`",
        "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer",
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer",
        "a boolean" => "`true` or `false`",
        other => other,
    }
}

/// `x`, expected one of `a`, `b`` -> ("x", ["a", "b"]).
fn split_unknown(rest: &str) -> (String, Vec<String>) {
    let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
    let expected = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    (name.to_string(), expected)
}

/// The closest candidate, when it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(input: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(input, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len().max(input.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// 1-based line number of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn to_kebab_case(id: &str) -> String {
    let mut out = String::new();
    for c in id.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_typos_only() {
        let keys = ["approvals", "from", "codeowners"];
        assert_eq!(
            did_you_mean("aprovals", keys.into_iter()),
            Some("approvals")
        );
        assert_eq!(did_you_mean("frm", keys.into_iter()), Some("from"));
        assert_eq!(did_you_mean("zzzzzz", keys.into_iter()), None);
    }

    #[test]
    fn kebab_case_ids() {
        assert!(is_kebab_case("two-approvals"));
        assert!(is_kebab_case("rule1"));
        assert!(!is_kebab_case("Two_Approvals"));
        assert!(!is_kebab_case("a--b"));
        assert!(!is_kebab_case("-a"));
        assert_eq!(to_kebab_case("Two_Approvals"), "two-approvals");
    }

    #[test]
    fn split_unknown_field_message() {
        let (f, e) = split_unknown("aprovals`, expected one of `approvals`, `from`");
        assert_eq!(f, "aprovals");
        assert_eq!(e, vec!["approvals", "from"]);
    }
}
