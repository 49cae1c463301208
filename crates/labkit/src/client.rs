//! The lab's HTTP client: a browser stand-in that trusts only the lab's CA, keeps cookies,
//! never follows redirects on its own, and records every exchange in the transcript.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cookie::Cookie;
use lab_app::Me;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Method, RequestBuilder, StatusCode, redirect};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::certs::LAB_HOST;
use crate::error::{LabError, Result};
use crate::transcript::{Entry, Transcript};

/// One request and its answer.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// The request's method.
    pub method: Method,
    /// The request's full URL.
    pub url: String,
    /// The answer's status.
    pub status: StatusCode,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The answer's body, as text.
    pub body: String,
}

impl Exchange {
    /// Every cookie the answer sets, parsed.
    pub fn set_cookies(&self) -> Vec<Cookie<'static>> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| Cookie::parse(value.to_owned()).ok())
            .collect()
    }

    /// The raw `Set-Cookie` header values.
    pub fn set_cookie_headers(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect()
    }

    /// The `Location` header, if any.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
    }

    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.body).map_err(|error| LabError::Unexpected {
            url: self.url.clone(),
            detail: format!(
                "{} is not the expected JSON ({error}): {}",
                self.status, self.body
            ),
        })
    }

    fn summary(&self) -> Vec<String> {
        let mut lines = vec![self.status.to_string()];
        if let Some(location) = self.location() {
            lines.push(format!("Location: {location}"));
        }
        let cookies = self.set_cookie_headers();
        if cookies.is_empty() {
            lines.push("(no Set-Cookie)".to_owned());
        }
        lines.extend(cookies.into_iter().map(|c| format!("Set-Cookie: {c}")));
        let content_type = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type.starts_with("application/json") || content_type.starts_with("text/plain") {
            // Long enough for any `/me` whole (a cut at a fixed length would fall at a different
            // place as the lab network's addresses change length from run to run).
            lines.push(self.body.trim().chars().take(1000).collect());
        } else if let Some(title) = html_title(&self.body) {
            lines.push(format!("page: {title}"));
        }
        lines
    }
}

fn html_title(body: &str) -> Option<&str> {
    let start = body.find("<h1>")? + 4;
    let end = body[start..].find("</h1>")?;
    Some(&body[start..start + end])
}

/// A client of the lab's public origin, with its own cookie jar.
#[derive(Clone, Debug)]
pub struct LabClient {
    http: reqwest::Client,
    origin: String,
    transcript: Transcript,
}

impl LabClient {
    /// A client for `http(s)://app.lab.test:<port>` where the name resolves to `addr`, trusting
    /// only `ca_pem` for HTTPS.
    pub fn new(
        scheme: &str,
        addr: SocketAddr,
        ca_pem: &str,
        transcript: Transcript,
    ) -> Result<LabClient> {
        let origin = format!("{scheme}://{LAB_HOST}:{}", addr.port());
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config(ca_pem)?)
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .resolve(LAB_HOST, addr)
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|source| LabError::Request {
                method: "build".into(),
                url: origin.clone(),
                source,
            })?;
        Ok(LabClient {
            http,
            origin,
            transcript,
        })
    }

    /// The origin this client talks to, e.g. `https://app.lab.test:8443`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The absolute URL of `path` on this client's origin.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.origin)
        }
    }

    /// A request to `path` (or to an absolute URL) to finish and [`send`](Self::send).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// Sends `request`, records the exchange, and returns it whatever its status.
    pub async fn send(&self, request: RequestBuilder) -> Result<Exchange> {
        let request = request.build().map_err(|source| LabError::Request {
            method: "build".into(),
            url: self.origin.clone(),
            source,
        })?;
        let (method, url) = (request.method().clone(), request.url().to_string());
        let mut sent = vec![format!("{method} {url}")];
        for (name, value) in request.headers() {
            sent.push(format!(
                "{name}: {}",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        if let Some(body) = request
            .body()
            .and_then(|b| b.as_bytes())
            .filter(|b| !b.is_empty())
        {
            sent.push(String::from_utf8_lossy(body).into_owned());
        }
        let response = match self.http.execute(request).await {
            Ok(response) => response,
            Err(source) => {
                self.transcript.push(Entry::Failed {
                    request: sent.join(" | "),
                    error: error_chain(&source),
                });
                return Err(LabError::Request {
                    method: method.to_string(),
                    url,
                    source,
                });
            }
        };
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.text().await.map_err(|source| LabError::Request {
            method: method.to_string(),
            url: url.clone(),
            source,
        })?;
        let exchange = Exchange {
            method,
            url,
            status,
            headers,
            body,
        };
        self.transcript.push(Entry::Exchange {
            request: sent,
            response: exchange.summary(),
        });
        Ok(exchange)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Exchange> {
        self.send(self.request(Method::GET, path)).await
    }

    /// `POST path` with a form.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Result<Exchange> {
        self.send(self.request(Method::POST, path).form(form)).await
    }

    /// Logs in as `user` through the login form.
    pub async fn log_in(&self, user: &str) -> Result<Exchange> {
        self.post_form("/login", &[("username", user)]).await
    }

    /// Who the app thinks we are (`GET /me`).
    pub async fn me(&self) -> Result<Me> {
        self.get("/me").await?.json()
    }

    /// Counts once in this session (`POST /count`) and returns the session's new count.
    pub async fn count(&self) -> Result<u64> {
        #[derive(serde::Deserialize)]
        struct Count {
            counter: u64,
        }
        Ok(self
            .post_form("/count", &[])
            .await?
            .json::<Count>()?
            .counter)
    }

    /// `GET path` as a browser asks for a page (`Accept: text/html`).
    pub async fn get_page(&self, path: &str) -> Result<Exchange> {
        self.send(self.request(Method::GET, path).header(ACCEPT, PAGE))
            .await
    }

    /// Posts `form` to `path` as a browser's form does (`Accept: text/html`): the app answers
    /// with a page or a redirect, not JSON.
    pub async fn post_page(&self, path: &str, form: &[(&str, &str)]) -> Result<Exchange> {
        self.send(
            self.request(Method::POST, path)
                .header(ACCEPT, PAGE)
                .form(form),
        )
        .await
    }

    /// Logs out (`POST /logout`).
    pub async fn log_out(&self) -> Result<Exchange> {
        self.post_form("/logout", &[]).await
    }
}

/// What a browser's `Accept` says when it navigates.
const PAGE: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

pub use lab_audit::error_chain;

/// TLS that trusts the lab's CA and nothing else, on ring (see the workspace Cargo.toml).
pub fn tls_config(ca_pem: &str) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| LabError::Certificates(format!("reading the lab CA: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| LabError::Certificates(format!("trusting the lab CA: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LabError::Certificates(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
