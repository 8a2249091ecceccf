//! Cross-site request forgery, refused twice over: every form carries a token that must equal
//! the one in the page's `SameSite=Strict`, `HttpOnly` cookie (a double-submit token, which a
//! page on another site can neither read nor set), and a POST whose `Origin` or
//! `Sec-Fetch-Site` says it came from elsewhere is refused before the token is read.

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;

/// The cookie holding the token.
pub const COOKIE: &str = "m365i_csrf";
/// The form field holding the token.
pub const FIELD: &str = "csrf";

/// The token of one browser, and whether this answer must set its cookie.
#[derive(Debug, Clone)]
pub struct Csrf {
    token: String,
    fresh: bool,
}

/// Why a form was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Forgery {
    /// Sent from another origin.
    #[error("the form was sent from another site ({0}); open the page from this API's own address")]
    CrossOrigin(String),
    /// No token, or not this browser's.
    #[error("the form's token is missing or stale; reload the page and send it again")]
    Token,
}

impl Csrf {
    /// The browser's token from its cookie, or a new one.
    pub fn of(request: &LambdaFunctionUrlRequest) -> Self {
        match cookie(request) {
            Some(token) => Self { token, fresh: false },
            None => Self {
                // Two v4 UUIDs: 244 bits from the operating system's generator.
                token: format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                ),
                fresh: true,
            },
        }
    }

    /// The token, for a form's hidden field.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The `Set-Cookie` value, when the browser has no token yet.
    pub fn set_cookie(&self, request: &LambdaFunctionUrlRequest) -> Option<String> {
        let secure = header(request, "x-forwarded-proto").is_some_and(|p| p == "https");
        self.fresh.then(|| {
            format!(
                "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{}",
                self.token,
                if secure { "; Secure" } else { "" }
            )
        })
    }

    /// Whether a POST carrying `sent` as its token may be acted on. A browser's own
    /// `Sec-Fetch-Site` is believed first (it holds behind a proxy that rewrites `Host`, such
    /// as a SigV4-signing one); without it, `Origin` must name this host or the proxy's.
    pub fn check(request: &LambdaFunctionUrlRequest, sent: Option<&str>) -> Result<(), Forgery> {
        match (header(request, "sec-fetch-site"), header(request, "origin")) {
            (Some("same-origin"), _) | (None, None) => {}
            (Some(site), _) => return Err(Forgery::CrossOrigin(site.to_owned())),
            (None, Some(origin)) => {
                let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
                let ours = ["host", "x-forwarded-host"]
                    .iter()
                    .any(|name| header(request, name) == Some(origin_host));
                if !ours {
                    return Err(Forgery::CrossOrigin(origin.to_owned()));
                }
            }
        }
        match (cookie(request), sent) {
            (Some(kept), Some(sent)) if same(kept.as_bytes(), sent.as_bytes()) => Ok(()),
            _ => Err(Forgery::Token),
        }
    }
}

/// The token cookie, from the function URL's `cookies` or a `Cookie` header.
fn cookie(request: &LambdaFunctionUrlRequest) -> Option<String> {
    let from_header = header(request, "cookie")
        .map(|c| c.split(';').map(str::to_owned).collect::<Vec<_>>())
        .unwrap_or_default();
    request
        .cookies
        .iter()
        .flatten()
        .cloned()
        .chain(from_header)
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE && value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| value.to_owned())
        })
}

fn header<'a>(request: &'a LambdaFunctionUrlRequest, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Equal in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::http::HeaderValue;

    use super::*;

    fn request(headers: &[(&'static str, &str)], cookies: &[&str]) -> LambdaFunctionUrlRequest {
        let mut request = LambdaFunctionUrlRequest::default();
        for (name, value) in headers {
            request
                .headers
                .insert(*name, HeaderValue::from_str(value).expect("a header"));
        }
        request.cookies = Some(cookies.iter().map(|c| (*c).to_owned()).collect());
        request
    }

    #[test]
    fn a_new_browser_gets_a_strict_http_only_cookie_and_a_known_one_keeps_its_token() {
        let first = request(&[("x-forwarded-proto", "https")], &[]);
        let csrf = Csrf::of(&first);
        let cookie = csrf.set_cookie(&first).expect("a cookie");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.ends_with("; Secure")
        );
        let pair = format!("{COOKIE}={}", csrf.token());
        let again = request(&[], &[&pair]);
        let kept = Csrf::of(&again);
        assert_eq!(kept.token(), csrf.token());
        assert_eq!(kept.set_cookie(&again), None);
    }

    #[test]
    fn a_post_needs_its_cookies_token_and_this_origin() {
        let token = "ab".repeat(32);
        let pair = format!("{COOKIE}={token}");
        let local = [("host", "127.0.0.1:9000"), ("origin", "http://127.0.0.1:9000")];
        assert_eq!(Csrf::check(&request(&local, &[&pair]), Some(&token)), Ok(()));
        assert_eq!(
            Csrf::check(&request(&local, &[&pair]), Some(&"ac".repeat(32))),
            Err(Forgery::Token)
        );
        assert_eq!(Csrf::check(&request(&local, &[&pair]), None), Err(Forgery::Token));
        assert_eq!(
            Csrf::check(&request(&local, &[]), Some(&token)),
            Err(Forgery::Token)
        );
        let elsewhere = [("host", "127.0.0.1:9000"), ("origin", "https://evil.example")];
        assert!(matches!(
            Csrf::check(&request(&elsewhere, &[&pair]), Some(&token)),
            Err(Forgery::CrossOrigin(_))
        ));
        let cross = [("host", "127.0.0.1:9000"), ("sec-fetch-site", "cross-site")];
        assert!(matches!(
            Csrf::check(&request(&cross, &[&pair]), Some(&token)),
            Err(Forgery::CrossOrigin(_))
        ));
        // Behind a proxy: the browser's word, or the proxy's host.
        let proxied = [
            ("host", "abc.lambda-url.eu-west-1.on.aws"),
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://127.0.0.1:8080"),
        ];
        assert_eq!(Csrf::check(&request(&proxied, &[&pair]), Some(&token)), Ok(()));
        let forwarded = [
            ("host", "abc.lambda-url.eu-west-1.on.aws"),
            ("x-forwarded-host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ];
        assert_eq!(Csrf::check(&request(&forwarded, &[&pair]), Some(&token)), Ok(()));
        // Through the header, as a proxy may pass it.
        let header_cookie = format!("other=1; {pair}");
        let via_header = request(&[("cookie", &header_cookie)], &[]);
        assert_eq!(Csrf::check(&via_header, Some(&token)), Ok(()));
    }
}
