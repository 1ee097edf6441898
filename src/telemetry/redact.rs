//! What a log line may say about a request: its path with only allow-listed query values, and no
//! field longer than `MAX_FIELD` bytes.
use std::borrow::Cow;

/// The longest value a log field carries; longer ones are cut and marked.
pub const MAX_FIELD: usize = 2048;

/// Query parameters whose values are never secret and help operators (RFC 6749, OIDC Core,
/// RFC 7009/7662, RFC 9207, RP-initiated logout). Every other value is `REDACTED`: `state`,
/// `nonce`, `code`, `login_hint`, `id_token_hint`, `access_token`, `client_secret`, `request`
/// (a signed request object may carry hints), `request_uri`, `code_challenge` and anything
/// unknown.
pub const SAFE_QUERY_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "post_logout_redirect_uri",
    "scope",
    "prompt",
    "max_age",
    "response_mode",
    "code_challenge_method",
    "grant_type",
    "token_type_hint",
    "ui_locales",
    "display",
    "error",
    "iss",
];

/// A parameter name is kept when it is short and plain; a long or odd "name" (a token sent as
/// `?eyJ…` with no `=`) is redacted like a value.
const MAX_NAME: usize = 32;

/// The request target to log: the path, and the query with every value outside
/// `SAFE_QUERY_PARAMS` replaced by `REDACTED` (names kept, order kept), capped at `MAX_FIELD`.
/// Names are compared as sent (still percent-encoded), so an encoded or differently-cased name
/// is redacted rather than trusted.
pub fn redact_target(path: &str, query: Option<&str>) -> String {
    let mut out = String::with_capacity(path.len() + query.map_or(0, str::len) + 1);
    out.push_str(path);
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            let (name, value) = match pair.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (pair, None),
            };
            if !plain_name(name) {
                out.push_str("REDACTED");
                continue;
            }
            out.push_str(name);
            if let Some(value) = value {
                out.push('=');
                if SAFE_QUERY_PARAMS.contains(&name) {
                    out.push_str(value);
                } else {
                    out.push_str("REDACTED");
                }
            }
            if out.len() > MAX_FIELD {
                break;
            }
        }
    }
    cap(&out).into_owned()
}

fn plain_name(name: &str) -> bool {
    name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `s` itself when at most `MAX_FIELD` bytes, else its first `MAX_FIELD` bytes (on a character
/// boundary) and a marker saying how much was cut.
pub fn cap(s: &str) -> Cow<'_, str> {
    if s.len() <= MAX_FIELD {
        return Cow::Borrowed(s);
    }
    let mut end = MAX_FIELD;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…[{} more bytes]", &s[..end], s.len() - end))
}

/// A value's `Display`, capped: for error chains and other text that may echo input.
pub fn capped(value: impl std::fmt::Display) -> String {
    let s = value.to_string();
    match cap(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(c) => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_safe_values_and_redacts_the_rest() {
        assert_eq!(
            redact_target(
                "/authorize",
                Some(
                    "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fa%2Fcb\
                     &scope=openid&state=s3cret&login_hint=bob%40example.com\
                     &id_token_hint=eyJ.x.y&code_challenge=abc&code_challenge_method=S256"
                )
            ),
            "/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fa%2Fcb\
             &scope=openid&state=REDACTED&login_hint=REDACTED&id_token_hint=REDACTED\
             &code_challenge=REDACTED&code_challenge_method=S256"
        );
    }

    #[test]
    fn secrets_by_any_spelling_are_redacted() {
        for q in [
            "access_token=S3KR1T",
            "client_secret=S3KR1T",
            "code=S3KR1T&state=S3KR1T",
            "Client_Id=S3KR1T",
            "client%5Fid=S3KR1T",
            "request=S3KR1T",
            "unknown=S3KR1T",
            "a=b=S3KR1T",
        ] {
            let out = redact_target("/x", Some(q));
            assert!(!out.contains("S3KR1T"), "{q} -> {out}");
        }
    }

    #[test]
    fn a_token_sent_as_a_bare_name_is_redacted() {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
        assert_eq!(
            redact_target("/userinfo", Some(&format!("{token}&scope=a&flag"))),
            "/userinfo?REDACTED&scope=a&flag"
        );
        assert_eq!(
            redact_target("/x", Some("a%20b=1")),
            "/x?REDACTED",
            "percent signs are not plain"
        );
    }

    #[test]
    fn no_query_and_empty_pieces() {
        assert_eq!(redact_target("/token", None), "/token");
        assert_eq!(redact_target("/x", Some("")), "/x?");
        assert_eq!(redact_target("/x", Some("scope=&&")), "/x?scope=&&");
    }

    #[test]
    fn long_values_are_capped_with_a_marker() {
        // 6001 bytes; byte 2048 is inside an "é", so the cut falls back to 2047.
        let long = format!("x{}", "é".repeat(3000));
        let out = cap(&long);
        assert!(out.starts_with("xé") && out.len() < MAX_FIELD + 40);
        assert!(
            out.ends_with("é…[3954 more bytes]"),
            "{}",
            &out[out.len() - 30..]
        );
        assert_eq!(cap("short"), "short");
        let target = redact_target(&format!("/{}", "p".repeat(5000)), Some("scope=a"));
        assert!(target.len() < MAX_FIELD + 40 && target.contains("more bytes]"));
        let many = vec!["scope=abcdefgh"; 10_000].join("&");
        assert!(redact_target("/x", Some(&many)).len() < MAX_FIELD + 40);
        assert_eq!(capped(format_args!("{}", "x".repeat(10))), "x".repeat(10));
    }
}
