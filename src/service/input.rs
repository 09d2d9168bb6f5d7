//! Raw input as it arrives from JSON or a form, before the service parses it. Keeping the
//! "missing" and "wrong type" cases lets the service report every bad field at once, with the
//! same messages for the API and the pages.

use crate::{domain, FieldErrors};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Raw {
    #[default]
    Missing,
    Text(String),
    /// Present but not usable as text (an object, a list, `true` …); holds the message.
    WrongType(String),
}

impl Raw {
    pub fn text(value: impl Into<String>) -> Self {
        Self::Text(value.into())
    }

    /// From an HTML form, where an absent field and an empty one are both "not given".
    pub fn from_form(value: Option<String>) -> Self {
        match value {
            Some(v) => Self::Text(v),
            None => Self::Missing,
        }
    }

    /// From a JSON value: strings as they are, numbers as their text (as Django REST
    /// framework's CharField does), `null` as missing, anything else a type error.
    pub fn from_json(value: Option<&serde_json::Value>) -> Self {
        use serde_json::Value;
        match value {
            None | Some(Value::Null) => Self::Missing,
            Some(Value::String(s)) => Self::Text(s.clone()),
            Some(Value::Number(n)) => Self::Text(n.to_string()),
            Some(Value::Bool(_)) | Some(Value::Array(_)) | Some(Value::Object(_)) => {
                Self::WrongType("Not a valid string.".into())
            }
        }
    }

    /// A required field, parsed; every problem is recorded in `errors`.
    pub fn required<T>(&self, errors: &mut FieldErrors, field: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        match self {
            Raw::Missing => {
                errors.add(field, domain::REQUIRED);
                None
            }
            Raw::WrongType(message) => {
                errors.add(field, message.clone());
                None
            }
            Raw::Text(text) => errors.check(field, parse(text)),
        }
    }

    /// An optional field: missing means `None` and is not an error.
    pub fn optional<T>(&self, errors: &mut FieldErrors, field: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<Option<T>> {
        match self {
            Raw::Missing => Some(None),
            Raw::WrongType(message) => {
                errors.add(field, message.clone());
                None
            }
            Raw::Text(text) => errors.check(field, parse(text)).map(Some),
        }
    }

    /// The text, if any, without parsing (for values checked elsewhere, such as passwords).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Raw::Text(text) => Some(text),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn missing_wrong_type_and_bad_values_all_report() {
        let mut errors = FieldErrors::new();
        Raw::Missing.required(&mut errors, "a", |s| Ok(s.to_owned()));
        Raw::from_json(Some(&json!([1]))).required(&mut errors, "b", |s| Ok(s.to_owned()));
        Raw::text("x").required(&mut errors, "c", |_| Err::<(), _>("bad".to_owned()));
        assert_eq!(errors.get("a").unwrap(), [domain::REQUIRED]);
        assert_eq!(errors.get("b").unwrap(), ["Not a valid string."]);
        assert_eq!(errors.get("c").unwrap(), ["bad"]);
    }

    #[test]
    fn json_numbers_are_text_and_null_is_missing() {
        assert_eq!(Raw::from_json(Some(&json!(42))), Raw::text("42"));
        assert_eq!(Raw::from_json(Some(&json!(null))), Raw::Missing);
    }
}
