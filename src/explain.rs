//! `gatehouse explain`: a rule kind's documentation, taken from the doc comment
//! on its config type (via its JSON schema) so code and docs cannot diverge.

use std::fmt::Write as _;

use schemars::generate::SchemaSettings;
use serde_json::Value;

use crate::policy::COMMON_RULE_KEYS;
use crate::rules::registry::{KINDS, RuleKind};

/// The doc comment of a kind's config, split into its first paragraph (the
/// title) and the rest.
fn doc(schema: &Value) -> (String, String) {
    let text = schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    let (title, body) = text.split_once("\n\n").unwrap_or((text, ""));
    (title.replace('\n', " "), body.trim().to_string())
}

/// The one-line title of a kind.
pub fn title(kind: &RuleKind) -> String {
    doc(&schema_of(kind).0).0
}

/// What every rule and every policy may also say, below the list of kinds.
const PACKS_AND_OVERRIDES: &str = "
Every rule may also have a break-glass `override = { labels = [\"emergency\"], approvers = [\"@acme/release\"] }`:
its failure is let through, on the record, when the change carries a label (or GATEHOUSE_OVERRIDE_REASON
is set in a deployment) and an approver who is not the author or requester approved; `overridable = false`
forbids it. A policy may start from a pack: `extends = [\"builtin:baseline\"]` or `[\"builtin:production\"]`;
a local rule with a pack rule's id sets keys of that rule.
";

/// A list of every kind with its title.
pub fn index() -> String {
    let width = KINDS.iter().map(|k| k.name.len()).max().unwrap_or(0);
    let mut out = String::from("Rule kinds (`gatehouse explain KIND` for details):\n\n");
    for kind in KINDS {
        let _ = writeln!(out, "  {:<width$}  {}", kind.name, title(kind));
    }
    out.push_str(PACKS_AND_OVERRIDES);
    out
}

/// The full documentation of one kind.
pub fn explain(kind: &RuleKind) -> String {
    let (schema, definitions) = schema_of(kind);
    let (title, body) = doc(&schema);
    let mut out = String::new();
    let _ = writeln!(out, "kind = \"{}\" — {title}", kind.name);
    if !body.is_empty() {
        let _ = writeln!(out, "\n{body}");
    }
    let _ = writeln!(
        out,
        "\nKeys (besides the common {}):",
        COMMON_RULE_KEYS.join(", ")
    );
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let width = properties.keys().map(String::len).max().unwrap_or(0);
        for (name, property) in properties {
            let doc = property
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .replace('\n', " ");
            let req = if required.contains(&name.as_str()) {
                " (required)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {name:<width$}  {}{req}\n  {:width$}  {doc}",
                type_name(property, &definitions),
                ""
            );
        }
    }
    let _ = writeln!(out, "\nExample:\n");
    for line in kind.example.lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}

fn schema_of(kind: &RuleKind) -> (Value, serde_json::Map<String, Value>) {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let schema = (kind.schema)(&mut generator).to_value();
    (schema, generator.take_definitions(true))
}

fn type_name(property: &Value, definitions: &serde_json::Map<String, Value>) -> String {
    if let Some(values) = property.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        return format!("one of {}", names.join(", "));
    }
    if let Some(reference) = property.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return match definitions.get(name) {
            Some(definition) => type_name(definition, definitions),
            None => name.to_string(),
        };
    }
    if let Some(variants) = property.get("oneOf").and_then(Value::as_array) {
        let names: Vec<String> = variants
            .iter()
            .filter_map(|v| {
                v.get("const")
                    .or_else(|| v.get("enum").and_then(|e| e.get(0)))
            })
            .map(|v| v.to_string())
            .collect();
        if names.len() == variants.len() {
            return format!("one of {}", names.join(", "));
        }
    }
    match property.get("type") {
        Some(Value::String(t)) if t == "array" => {
            let item = property
                .get("items")
                .map(|i| type_name(i, definitions))
                .unwrap_or_default();
            format!("list of {item}")
        }
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => {
            let names: Vec<&str> = types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            if names == ["array"] {
                let item = property
                    .get("items")
                    .map(|i| type_name(i, definitions))
                    .unwrap_or_default();
                format!("list of {item}")
            } else {
                names.join(" or ")
            }
        }
        _ => "value".to_string(),
    }
}
