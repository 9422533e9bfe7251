//! The suite's description of the machine a run ran on (cores, memory, versions), for the
//! summary. The suite may write it as a JSON object or as `key=value` lines; both become the same
//! list of pairs, so the summary does not care which.

use std::path::Path;

use serde_json::{Map, Value};

use super::files::FileError;

/// The machine's facts, in file order (JSON: sorted by key, nested objects as `outer.inner`).
pub type Machine = Vec<(String, String)>;

pub fn load(path: &Path) -> Result<Machine, FileError> {
    let error = |problem: String| FileError { path: path.to_owned(), problem };
    let text = std::fs::read_to_string(path).map_err(|io| error(io.to_string()))?;
    parse(&text).map_err(error)
}

/// JSON when the text starts with `{`, else `key=value` lines (blank lines and `#` comments skipped).
pub fn parse(text: &str) -> Result<Machine, String> {
    if text.trim_start().starts_with('{') { parse_json(text) } else { parse_lines(text) }
}

fn parse_json(text: &str) -> Result<Machine, String> {
    let object: Map<String, Value> = serde_json::from_str(text).map_err(|json| json.to_string())?;
    let mut pairs = Vec::new();
    flatten("", &Value::Object(object), &mut pairs);
    Ok(pairs)
}

fn flatten(key: &str, value: &Value, pairs: &mut Machine) {
    match value {
        Value::Object(object) => {
            for (inner, value) in object {
                let key = if key.is_empty() { inner.clone() } else { format!("{key}.{inner}") };
                flatten(&key, value, pairs);
            }
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(scalar).collect();
            pairs.push((key.to_owned(), items.join(", ")));
        }
        _ => pairs.push((key.to_owned(), scalar(value))),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn parse_lines(text: &str) -> Result<Machine, String> {
    let mut pairs = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: expected key=value, found {line:?}", number + 1));
        };
        pairs.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Machine {
        list.iter().map(|&(key, value)| (key.to_owned(), value.to_owned())).collect()
    }

    #[test]
    fn key_value_lines() {
        let text = "# the suite\ncores=2\n\n memory_mb = 7940 \nos=Debian=13\n";
        assert_eq!(
            parse(text).unwrap(),
            pairs(&[("cores", "2"), ("memory_mb", "7940"), ("os", "Debian=13")])
        );
        assert_eq!(
            parse("cores=2\nnonsense").unwrap_err(),
            r#"line 2: expected key=value, found "nonsense""#
        );
    }

    #[test]
    fn json_objects_flatten() {
        let text =
            r#"{"cores": 2, "versions": {"rustc": "1.94.0", "k6": "v1.4.2"}, "disks": ["a", 1], "x": null}"#;
        let expected = [
            ("cores", "2"),
            ("disks", "a, 1"),
            ("versions.k6", "v1.4.2"),
            ("versions.rustc", "1.94.0"),
            ("x", "null"),
        ];
        assert_eq!(parse(text).unwrap(), pairs(&expected));
        assert!(parse("{\"cores\": ").unwrap_err().starts_with("EOF"));
    }
}
