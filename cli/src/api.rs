//! The operator API as the CLI reaches it: its base URL (the flag, `API_URL`, or the local
//! stack's `.env.local`), each request SigV4-signed with the caller's AWS credentials unless the
//! URL is on loopback (`cargo lambda watch` takes no signature), and its errors with what to do.

use std::time::SystemTime;

use aws_credential_types::{Credentials, provider::ProvideCredentials as _};
use aws_sigv4::{
    http_request::{SignableBody, SignableRequest, SigningSettings, sign},
    sign::v4,
};
use reqwest::Method;
use serde_json::Value;

use crate::CliError;

/// Where `make local-up` writes `API_URL`.
pub const LOCAL_ENV_FILE: &str = ".env.local";

/// A client of one deployment's API.
pub struct ApiClient {
    base: String,
    http: reqwest::Client,
    signer: Option<Signer>,
}

/// The caller's credentials and the stack's region, for SigV4.
struct Signer {
    credentials: Credentials,
    region: String,
    /// `lambda`, as function URLs take it.
    service: &'static str,
}

impl ApiClient {
    /// A client of `api_url` (else `API_URL`, else `.env.local`'s), signing unless on loopback.
    pub async fn connect(api_url: Option<String>) -> Result<Self, CliError> {
        let base = api_url
            .or_else(|| std::env::var("API_URL").ok().filter(|u| !u.is_empty()))
            .or_else(local_api_url)
            .ok_or(CliError::NoApi)?;
        let base = base.trim_end_matches('/').to_owned();
        let url =
            reqwest::Url::parse(&base).map_err(|err| CliError::BadApiUrl(format!("{base:?}: {err}")))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if !loopback && url.scheme() != "https" {
            return Err(CliError::BadApiUrl(format!("{base:?}: a deployed API is https")));
        }
        let signer = if loopback {
            None
        } else {
            let sdk = state::aws::sdk_config().await;
            let region = sdk.region().map(ToString::to_string).ok_or(CliError::NoRegion)?;
            let provider = sdk
                .credentials_provider()
                .ok_or_else(|| CliError::Credentials("no provider".to_owned()))?;
            let credentials = provider
                .provide_credentials()
                .await
                .map_err(|err| CliError::Credentials(err.to_string()))?;
            Some(Signer {
                credentials,
                region,
                service: "lambda",
            })
        };
        // The API never redirects; the proxy's pages do, and the browser follows them itself.
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(70))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| CliError::BadApiUrl(err.to_string()))?;
        Ok(Self { base, http, signer })
    }

    /// A client of `base` that never signs (tests, the local stack).
    pub fn unsigned(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            signer: None,
        }
    }

    /// `method path_and_query` with `headers` and `body` as given, signed unless on loopback:
    /// the status, the answer's headers and its body. Never follows a redirect (the proxy's
    /// browser does).
    pub async fn forward(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(u16, Vec<(String, String)>, Vec<u8>), CliError> {
        let url = format!("{}{path_and_query}", self.base);
        let method = Method::from_bytes(method.as_bytes()).map_err(|err| CliError::Proxy(err.to_string()))?;
        let mut request = self.http.request(method.clone(), &url).body(body.to_vec());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(signer) = &self.signer {
            // Signed over the body and its type only: the browser's other headers vary.
            let content_type: Vec<(&str, &str)> = headers
                .iter()
                .filter(|(n, _)| n == "content-type")
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let text = String::from_utf8_lossy(body);
            for (name, value) in
                signer.headers(method.as_str(), &url, &content_type, &text, SystemTime::now())?
            {
                request = request.header(name, value);
            }
        }
        let response = request.send().await.map_err(|err| CliError::Unreachable {
            url: self.base.clone(),
            reason: err.without_url().to_string(),
        })?;
        let status = response.status().as_u16();
        let answered = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response
            .bytes()
            .await
            .map_err(|err| CliError::Proxy(err.to_string()))?;
        Ok((status, answered, body.to_vec()))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value, CliError> {
        self.send(Method::GET, path, None).await
    }

    /// `method path` with a JSON body; the answer's JSON, or the API's error.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, CliError> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let headers = [("content-type".to_owned(), "application/json".to_owned())];
        let (status, _, text) = self
            .forward(method.as_str(), path, &headers, body.as_bytes())
            .await?;
        let text = String::from_utf8_lossy(&text);
        let answer: Value = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()));
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        Err(CliError::Api {
            status,
            error_type: answer["errorType"].as_str().unwrap_or("Unknown").to_owned(),
            message: answer["errorMessage"]
                .as_str()
                .map_or_else(|| answer.to_string(), str::to_owned),
        })
    }
}

impl Signer {
    /// The SigV4 headers to add to one request with `headers`, signed at `time`.
    fn headers(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &str,
        time: SystemTime,
    ) -> Result<Vec<(String, String)>, CliError> {
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|err| CliError::Credentials(err.to_string()))?
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|err| CliError::Credentials(err.to_string()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|err| CliError::Credentials(err.to_string()))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect())
    }
}

/// `API_URL` from the local stack's `.env.local`, if there is one here.
fn local_api_url() -> Option<String> {
    let text = std::fs::read_to_string(LOCAL_ENV_FILE).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("API_URL="))
        .map(|url| url.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// The signer against AWS's own SigV4 test vectors: long-term and temporary credentials.
    #[test]
    fn requests_are_signed_as_the_sigv4_test_suite_expects() {
        let suite: Value =
            serde_json::from_str(include_str!("../fixtures/sigv4-test-suite.json")).expect("the fixture");
        let text = |v: &Value| v.as_str().expect("a string").to_owned();
        let time: SystemTime =
            chrono::DateTime::parse_from_rfc3339(suite["timestamp"].as_str().expect("time"))
                .expect("a timestamp")
                .into();
        for case in suite["cases"].as_array().expect("cases") {
            let signer = Signer {
                credentials: Credentials::new(
                    text(&suite["access_key_id"]),
                    text(&suite["secret_access_key"]),
                    case["session_token"].as_str().map(str::to_owned),
                    None,
                    "test-suite",
                ),
                region: text(&suite["region"]),
                service: "service",
            };
            let method = case["method"].as_str().expect("method");
            let url = case["url"].as_str().expect("url");
            let mut signed = signer.headers(method, url, &[], "", time).expect("signed");
            signed.sort();
            let mut expected: Vec<(String, String)> = case["signed"]
                .as_object()
                .expect("headers")
                .iter()
                .map(|(n, v)| (n.clone(), text(v)))
                .collect();
            expected.sort();
            assert_eq!(signed, expected, "{}", case["name"]);
        }
    }
}
