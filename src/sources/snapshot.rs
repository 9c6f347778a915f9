//! The `facts` source: a saved Facts file (`gatehouse facts > f.json`, or one
//! written by another CI system). Any problem is an error naming the file and
//! the JSON path of the bad field; the run is then indeterminate (exit 3).

use std::io::Read as _;
use std::path::Path;

use super::SourceError;
use crate::facts::{FACTS_SCHEMA, Facts};

const SOURCE: &str = "facts file";

/// Read and check a Facts file; `-` reads standard input.
pub fn read(path: &Path) -> Result<Facts, SourceError> {
    let shown = path.display().to_string();
    let text = if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| SourceError::new(SOURCE, format!("cannot read standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| SourceError::new(SOURCE, format!("cannot read {shown}: {e}")))?
    };
    parse(&shown, &text)
}

/// Parse Facts JSON; `name` is used in messages.
pub fn parse(name: &str, text: &str) -> Result<Facts, SourceError> {
    // Check the schema first, so a file of another version gets that message
    // rather than a confusing complaint about some field.
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        SourceError::new(
            SOURCE,
            format!(
                "{name}: not valid JSON at line {}, column {}: {}",
                e.line(),
                e.column(),
                super::strip_position(&e.to_string())
            ),
        )
    })?;
    match value.get("schema") {
        Some(serde_json::Value::String(s)) if s == FACTS_SCHEMA => {}
        Some(serde_json::Value::String(s)) => {
            return Err(SourceError::new(
                SOURCE,
                format!("{name}: unsupported schema `{s}` at `schema`; this gatehouse reads `{FACTS_SCHEMA}`"),
            )
            .hint("regenerate the file with `gatehouse facts`, or upgrade gatehouse"));
        }
        Some(_) => {
            return Err(SourceError::new(
                SOURCE,
                format!("{name}: `schema` must be the string `{FACTS_SCHEMA}`"),
            ));
        }
        None => {
            return Err(SourceError::new(
                SOURCE,
                format!("{name}: missing `schema` (expected `{FACTS_SCHEMA}`)"),
            ));
        }
    }
    super::from_json_value::<Facts, _>(value).map_err(|(path, message)| {
        SourceError::new(
            SOURCE,
            format!("{name}: invalid facts at `{path}`: {message}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_type_names_the_json_path() {
        let mut v = serde_json::to_value(crate::rules::testing::facts()).unwrap();
        v["event"]["kind"] = serde_json::json!(3);
        let e = parse("f.json", &v.to_string()).unwrap_err();
        assert!(e.message.contains("at `event.kind`"), "{}", e.message);
    }

    #[test]
    fn unknown_fields_are_accepted() {
        let mut v = serde_json::to_value(crate::rules::testing::facts()).unwrap();
        v["future_field"] = serde_json::json!({"x": 1});
        assert!(parse("f.json", &v.to_string()).is_ok());
    }
}
