//! Form parameters of a protocol request (RFC 6749 §3.1, §3.2): UTF-8, each at most once (but for
//! the names the caller allows to repeat, like RFC 8707 `resource`), and a parameter sent without
//! a value is treated as omitted.
use std::collections::HashMap;

use percent_encoding::percent_decode;

use super::OAuthError;

#[derive(Debug, Clone, Default)]
pub struct Params {
    values: HashMap<String, Vec<String>>,
}

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse_form(body: &[u8], repeatable: &[&str]) -> Result<Params, OAuthError> {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            let name = decode(name)?;
            let value = decode(value)?;
            if value.is_empty() {
                continue;
            }
            let entry = values.entry(name).or_default();
            entry.push(value);
        }
        for (name, vals) in &values {
            if vals.len() > 1 && !repeatable.contains(&name.as_str()) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {name} is repeated"
                )));
            }
        }
        Ok(Params { values })
    }

    /// Builds parameters from pairs (tests and non-form callers); same rules as `parse_form`.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        repeatable: &[&str],
    ) -> Result<Params, OAuthError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        Params::parse_form(body.as_bytes(), repeatable)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The parameters as a query string (to re-issue a POSTed request as a GET).
    pub fn to_query(&self) -> String {
        let mut names: Vec<&String> = self.values.keys().collect();
        names.sort();
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for name in names {
            for value in &self.values[name] {
                out.append_pair(name, value);
            }
        }
        out.finish()
    }

    /// Every `(name, value)`, names sorted, repeated values in their order.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        let mut names: Vec<&String> = self.values.keys().collect();
        names.sort();
        names
            .into_iter()
            .flat_map(|name| {
                self.values[name]
                    .iter()
                    .map(move |v| (name.as_str(), v.as_str()))
            })
            .collect()
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter {name} is required")))
    }
}

fn decode(raw: &[u8]) -> Result<String, OAuthError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let text = percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| OAuthError::invalid_request("the request is not valid UTF-8"))?;
    // Control characters have no place in a parameter (and PostgreSQL text can't hold NUL).
    if crate::identity::text::has_control(&text) {
        return Err(OAuthError::invalid_request(
            "the request contains control characters",
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::ErrorCode;

    #[test]
    fn decodes_and_treats_empty_as_omitted() {
        let p = Params::parse_form(b"grant_type=client_credentials&scope=a+b%20c&state=&x", &[])
            .unwrap();
        assert_eq!(p.get("grant_type"), Some("client_credentials"));
        assert_eq!(p.get("scope"), Some("a b c"));
        assert_eq!(p.get("state"), None);
        assert_eq!(p.get("x"), None);
    }

    #[test]
    fn repeats_are_refused_unless_allowed() {
        let err = Params::parse_form(b"scope=a&scope=b", &[]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
        let p = Params::parse_form(b"resource=a&resource=b", &["resource"]).unwrap();
        assert_eq!(p.all("resource"), ["a", "b"]);
    }

    #[test]
    fn control_characters_are_invalid_request() {
        for body in [
            &b"state=a%00b"[..],
            b"client_id=%1B",
            b"x=%7F",
            b"password=a%09b",
            b"scope=a%0Ab",
            b"name=%C2%85",
        ] {
            let err = Params::parse_form(body, &[]).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidRequest);
        }
    }

    #[test]
    fn invalid_utf8_is_invalid_request() {
        let err = Params::parse_form(b"scope=%FF", &[]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
    }
}
