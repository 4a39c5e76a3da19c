//! The dashboard's forms: a URL-encoded body read with bounds (size, number of fields, each
//! field's length) and fields taken by name with their own limits, so a page can say what was
//! wrong in words.

use std::str::FromStr;

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse as _, Response};

use super::page;

/// The largest form body the dashboard reads.
const MAX_BODY_BYTES: usize = 16 * 1024;
/// The most fields a form may carry (a sale with every option ticked has fewer than twenty).
const MAX_FIELDS: usize = 64;

/// A field of a form: its name in the body and the label the page shows beside it, which every
/// complaint about it quotes, its own and the platform's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    /// The paths the API names the same value by in its refusals (`customer.phone`).
    pub api: &'static [&'static str],
}

/// A submitted form's fields, in order (a field may repeat, as ticked boxes do).
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(request: Request, _: &S) -> Result<Self, Response> {
        let refused = |status, message: &str| page::failure(status, message).into_response();
        let urlencoded = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next() == Some("application/x-www-form-urlencoded"));
        if !urlencoded {
            return Err(refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, "This form was not sent as a web form."));
        }
        let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| refused(StatusCode::PAYLOAD_TOO_LARGE, "This form is larger than the dashboard reads."))?;
        Form::parse(&body).map_err(|message| refused(StatusCode::BAD_REQUEST, message))
    }
}

impl Form {
    /// Reads a URL-encoded body within the bounds.
    pub fn parse(body: &[u8]) -> Result<Self, &'static str> {
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| "This form could not be read.")?;
        if fields.len() > MAX_FIELDS {
            return Err("This form has more fields than the dashboard reads.");
        }
        Ok(Self(fields))
    }

    fn first(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim())
    }

    /// A field that must be there, trimmed, at most `max_chars` characters.
    pub fn text(&self, field: Field, max_chars: usize) -> Result<String, String> {
        self.optional(field, max_chars)?.ok_or_else(|| format!("Fill in “{}”.", field.label))
    }

    /// A field that may be empty or absent (then `None`), trimmed, at most `max_chars` characters.
    pub fn optional(&self, field: Field, max_chars: usize) -> Result<Option<String>, String> {
        let Some(value) = self.first(field.name).filter(|v| !v.is_empty()) else { return Ok(None) };
        if value.chars().count() > max_chars {
            return Err(format!("“{}” is longer than {max_chars} characters.", field.label));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("“{}” has characters that cannot be typed.", field.label));
        }
        Ok(Some(value.to_owned()))
    }

    /// A field as it was typed, to show it again beside a complaint: trimmed, without the
    /// characters that cannot be typed, cut to `max_chars`.
    pub fn as_typed(&self, field: Field, max_chars: usize) -> String {
        self.first(field.name).map(|value| typed(value, max_chars)).unwrap_or_default()
    }

    /// Every value of a repeated field (ticked boxes), each at most `max_chars` characters.
    pub fn all(&self, field: Field, max_chars: usize) -> Result<Vec<String>, String> {
        let values = self.all_as_typed(field, usize::MAX);
        if values.iter().any(|v| v.chars().count() > max_chars)
            || self.values(field).any(|v| v.chars().any(char::is_control))
        {
            return Err(format!("A value of “{}” cannot be read.", field.label));
        }
        Ok(values)
    }

    /// Every value of a repeated field as typed (see [`Form::as_typed`]).
    pub fn all_as_typed(&self, field: Field, max_chars: usize) -> Vec<String> {
        self.values(field).map(|value| typed(value, max_chars)).collect()
    }

    fn values(&self, field: Field) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(key, _)| key == field.name).map(|(_, value)| value.trim())
    }

    /// A whole number in `range`.
    pub fn number<T>(&self, field: Field, range: std::ops::RangeInclusive<T>) -> Result<T, String>
    where
        T: FromStr + PartialOrd + std::fmt::Display,
    {
        self.optional_number(field, range)?.ok_or_else(|| format!("Fill in “{}”.", field.label))
    }

    /// A whole number in `range`, or `None` when the field is empty or absent.
    pub fn optional_number<T>(&self, field: Field, range: std::ops::RangeInclusive<T>) -> Result<Option<T>, String>
    where
        T: FromStr + PartialOrd + std::fmt::Display,
    {
        let Some(text) = self.optional(field, 20)? else { return Ok(None) };
        text.parse::<T>().ok().filter(|n| range.contains(n)).map(Some).ok_or_else(|| {
            format!("“{}” must be a whole number from {} to {}.", field.label, range.start(), range.end())
        })
    }

    /// A switch's position, sent as `true` or `false` (a hidden field, or the button pressed).
    pub fn flag(&self, field: Field) -> Result<bool, String> {
        match self.text(field, 5)?.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("Say whether “{}” is on or off.", field.label)),
        }
    }
}

fn typed(value: &str, max_chars: usize) -> String {
    value.chars().filter(|c| !c.is_control()).take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: Field = Field { name: "email", label: "Email", api: &[] };
    const OPTION: Field = Field { name: "option", label: "Factory options", api: &[] };
    const N: Field = Field { name: "n", label: "How many", api: &[] };
    const EMPTY: Field = Field { name: "empty", label: "Empty", api: &[] };
    const NAME: Field = Field { name: "name", label: "Name", api: &[] };

    #[test]
    fn fields_are_read_with_their_bounds() {
        let form = Form::parse(b"email=+ana%40example.com+&option=heat-pump&option=roof-rails&n=7&empty=").expect("ok");
        assert_eq!(form.text(EMAIL, 254), Ok("ana@example.com".to_owned()));
        assert_eq!(form.all(OPTION, 40).expect("ok"), ["heat-pump", "roof-rails"]);
        assert_eq!(form.number(N, 1..=10u32), Ok(7));
        assert_eq!(form.number(N, 1..=5u32), Err("“How many” must be a whole number from 1 to 5.".to_owned()));
        assert_eq!(form.optional(EMPTY, 10), Ok(None));
        assert_eq!(form.text(EMPTY, 10), Err("Fill in “Empty”.".to_owned()), "required, said by its label");
        assert!(form.text(EMAIL, 5).is_err(), "too long");
        assert_eq!(form.as_typed(EMAIL, 5), "ana@e", "shown again as typed, cut");
        let control = Form::parse(b"name=a%00b").expect("ok");
        assert!(control.text(NAME, 10).is_err(), "control characters");
        assert_eq!(control.as_typed(NAME, 10), "ab");
        assert_eq!(form.optional_number(EMPTY, 0..=5u32), Ok(None), "an empty number is none");
        assert_eq!(form.optional_number(N, 0..=9u32), Ok(Some(7)));
        assert!(form.optional_number(N, 0..=5u32).is_err(), "out of range even when optional");
        let switched = Form::parse(b"on=true&off=false&odd=yes").expect("ok");
        let flag = |name| Field { name, label: "Switch", api: &[] };
        assert_eq!(switched.flag(flag("on")), Ok(true));
        assert_eq!(switched.flag(flag("off")), Ok(false));
        assert!(switched.flag(flag("odd")).is_err(), "only true or false");
        assert!(switched.flag(flag("missing")).is_err(), "a switch must say its position");
        let many = vec!["a=1"; MAX_FIELDS + 1].join("&");
        assert!(Form::parse(many.as_bytes()).is_err(), "too many fields");
    }
}
