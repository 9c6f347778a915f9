//! The JSON Schema of the policy file, generated from the same types the
//! loader deserializes into, so it cannot drift from what is accepted. A copy
//! lives in `rules/policy.schema.json` (a test keeps it current) for editors.

use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use super::{AuditConfig, Severity, WhenConfig};
use crate::rules::registry::KINDS;

/// Where the repository keeps the generated schema.
pub const SCHEMA_PATH: &str = "rules/policy.schema.json";

/// The schema as pretty JSON with a trailing newline, exactly as stored.
pub fn policy_schema_text() -> String {
    let mut text =
        serde_json::to_string_pretty(&policy_schema()).expect("a JSON value always serialises");
    text.push('\n');
    text
}

pub fn policy_schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let audit = generator.subschema_for::<AuditConfig>().to_value();
    let when = generator.subschema_for::<WhenConfig>().to_value();
    let severity = generator.subschema_for::<Severity>().to_value();
    let override_config = generator
        .subschema_for::<crate::overrides::OverrideConfig>()
        .to_value();

    let variants: Vec<Value> = KINDS
        .iter()
        .map(|kind| {
            let mut schema = (kind.schema)(&mut generator).to_value();
            let object = schema
                .as_object_mut()
                .expect("rule configs are structs, whose schema is an object");
            object.insert("type".into(), json!("object"));
            object.insert("additionalProperties".into(), json!(false));
            let properties = object
                .entry("properties")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("`properties` is an object");
            properties.insert(
                "id".into(),
                json!({
                    "description": "Stable, unique, kebab-case id; appears in every report and audit record.",
                    "type": "string",
                    "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"
                }),
            );
            properties.insert("kind".into(), json!({ "const": kind.name }));
            properties.insert("severity".into(), severity.clone());
            properties.insert(
                "description".into(),
                json!({ "description": "Shown in reports next to the rule id.", "type": "string" }),
            );
            properties.insert("when".into(), when.clone());
            properties.insert("override".into(), override_config.clone());
            properties.insert(
                "overridable".into(),
                json!({
                    "description": "`false` forbids any break-glass override of this rule (default true).",
                    "type": "boolean"
                }),
            );
            let required = object.entry("required").or_insert_with(|| json!([]));
            if let Some(list) = required.as_array_mut() {
                list.insert(0, json!("kind"));
                list.insert(0, json!("id"));
            }
            schema
        })
        .collect();

    let definitions: serde_json::Map<String, Value> = generator
        .definitions()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://gatehouse.dev/schema/policy-v1.json",
        "title": "gatehouse policy",
        "description": "A gatehouse policy file (version 1). See `gatehouse explain` for each rule kind.",
        "type": "object",
        "additionalProperties": false,
        "required": ["version"],
        "properties": {
            "version": { "description": "Policy format version.", "const": 1 },
            "extends": {
                "description": "Policy packs embedded in gatehouse whose rules this policy builds on (`builtin:baseline`, `builtin:production`). A local rule with a pack rule's id sets keys of that rule.",
                "type": "array",
                "items": { "type": "string", "enum": crate::policy::packs::names() }
            },
            "audit": audit,
            "rule": {
                "description": "The rules, each a `[[rule]]` table.",
                "type": "array",
                "items": { "oneOf": variants }
            }
        },
        "$defs": definitions
    })
}
