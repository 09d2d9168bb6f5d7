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

    /// A field holding a JSON document (the credential a browser returned from WebAuthn),
    /// kept as its JSON text for the service to parse; a string is taken to be that text.
    pub fn from_json_document(value: Option<&serde_json::Value>) -> Self {
        use serde_json::Value;
        match value {
            None | Some(Value::Null) => Self::Missing,
            Some(Value::String(s)) => Self::Text(s.clone()),
            Some(document @ Value::Object(_)) => Self::Text(document.to_string()),
            Some(_) => Self::WrongType("Must be an object.".into()),
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

/// A yes/no field as JSON (`true`, as text by then) or a form (`on`) sends it; an empty form
/// value is no.
pub fn parse_flag(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Ok(true),
        "false" | "0" | "off" | "no" | "" => Ok(false),
        _ => Err("Must be a valid boolean.".into()),
    }
}

/// A list of strings as it arrives (the permissions of a role, the scopes of a key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RawList {
    #[default]
    Missing,
    Items(Vec<String>),
    /// Present but not a list of strings; holds the message.
    WrongType(String),
}

impl RawList {
    /// From a JSON value: a list of strings, `null` as missing, anything else a type error
    /// (Django REST framework's ListField wording).
    pub fn from_json(value: Option<&serde_json::Value>) -> Self {
        use serde_json::Value;
        match value {
            None | Some(Value::Null) => Self::Missing,
            Some(Value::Array(items)) => {
                let texts: Option<Vec<String>> = items.iter().map(|i| i.as_str().map(str::to_owned)).collect();
                match texts {
                    Some(texts) => Self::Items(texts),
                    None => Self::WrongType("Each item must be a string.".into()),
                }
            }
            Some(other) => {
                let kind = match other {
                    Value::String(_) => "str",
                    Value::Number(_) => "int",
                    Value::Bool(_) => "bool",
                    _ => "dict",
                };
                Self::WrongType(format!("Expected a list of items but got type \"{kind}\"."))
            }
        }
    }

    /// A required list, parsed; every problem is recorded in `errors`.
    pub fn required<T>(&self, errors: &mut FieldErrors, field: &str, parse: impl FnOnce(&[String]) -> Result<T, Vec<String>>) -> Option<T> {
        match self.optional(errors, field, parse) {
            Some(Some(value)) => Some(value),
            Some(None) => {
                errors.add(field, domain::REQUIRED);
                None
            }
            None => None,
        }
    }

    /// An optional list: missing means `None` and is not an error.
    pub fn optional<T>(&self, errors: &mut FieldErrors, field: &str, parse: impl FnOnce(&[String]) -> Result<T, Vec<String>>) -> Option<Option<T>> {
        match self {
            RawList::Missing => Some(None),
            RawList::WrongType(message) => {
                errors.add(field, message.clone());
                None
            }
            RawList::Items(items) => match parse(items) {
                Ok(value) => Some(Some(value)),
                Err(messages) => {
                    for message in messages {
                        errors.add(field, message);
                    }
                    None
                }
            },
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
    fn lists_report_their_shape_and_each_bad_item() {
        let mut errors = FieldErrors::new();
        let parse = |items: &[String]| -> Result<usize, Vec<String>> {
            let bad: Vec<String> = items.iter().filter(|i| i.contains('!')).map(|i| format!("{i} is bad")).collect();
            if bad.is_empty() { Ok(items.len()) } else { Err(bad) }
        };
        assert_eq!(RawList::from_json(Some(&json!(["a", "b"]))).required(&mut errors, "a", parse), Some(2));
        assert_eq!(RawList::from_json(Some(&json!("a"))).required(&mut errors, "b", parse), None);
        assert_eq!(RawList::from_json(Some(&json!(["a", 1]))).required(&mut errors, "c", parse), None);
        assert_eq!(RawList::from_json(Some(&json!(["x!", "y!"]))).required(&mut errors, "d", parse), None);
        assert_eq!(RawList::Missing.required(&mut errors, "e", parse), None);
        assert_eq!(RawList::from_json(Some(&json!(null))).optional(&mut errors, "f", parse), Some(None));
        assert!(errors.get("a").is_none() && errors.get("f").is_none());
        assert_eq!(errors.get("b").unwrap(), ["Expected a list of items but got type \"str\"."]);
        assert_eq!(errors.get("c").unwrap(), ["Each item must be a string."]);
        assert_eq!(errors.get("d").unwrap(), ["x! is bad", "y! is bad"]);
        assert_eq!(errors.get("e").unwrap(), [domain::REQUIRED]);
    }

    #[test]
    fn json_numbers_are_text_and_null_is_missing() {
        assert_eq!(Raw::from_json(Some(&json!(42))), Raw::text("42"));
        assert_eq!(Raw::from_json(Some(&json!(null))), Raw::Missing);
    }
}
