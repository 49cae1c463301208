//! The audit's HTTP client: the system's roots (and an extra CA), no redirects, no cookie jar
//! (the checks send exactly the cookies they mean to), a timeout on everything.

use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, redirect};

use crate::{AuditError, Options};

/// One answer, as the checks read it.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    /// `404 Not Found, Location: ..., 2 Set-Cookie`: a line for the report.
    pub fn summary(&self) -> String {
        let mut parts = vec![self.status.to_string()];
        if let Some(location) = self.location() {
            parts.push(format!("Location: {location}"));
        }
        let cookies = self.set_cookies().len();
        if cookies > 0 {
            parts.push(format!("{cookies} Set-Cookie"));
        }
        parts.join(", ")
    }
}

pub(crate) struct Http {
    client: reqwest::Client,
}

impl Http {
    pub fn new(options: &Options) -> Result<Http, AuditError> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(path) = &options.ca {
            let pem = std::fs::read(path).map_err(|e| AuditError::Ca {
                path: path.clone(),
                detail: e.to_string(),
            })?;
            let mut added = 0;
            for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
                let cert: rustls::pki_types::CertificateDer<'static> =
                    cert.map_err(|e| AuditError::Ca {
                        path: path.clone(),
                        detail: e.to_string(),
                    })?;
                roots.add(cert).map_err(|e| AuditError::Ca {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(AuditError::Ca {
                    path: path.clone(),
                    detail: "no certificate in it".into(),
                });
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| AuditError::Client(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(redirect::Policy::none())
            .no_proxy()
            .timeout(options.timeout);
        if let Some(ip) = options.resolve {
            // Both ports of the one host: HTTPS, and plain HTTP for the redirect check.
            builder = builder
                .resolve(
                    options.host(),
                    std::net::SocketAddr::new(ip, options.port()),
                )
                .resolve(
                    options.host(),
                    std::net::SocketAddr::new(ip, options.http_port),
                );
        }
        let client = builder
            .build()
            .map_err(|e| AuditError::Client(e.to_string()))?;
        Ok(Http { client })
    }

    /// Sends one request; `Err` is the transport's error, with its causes.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        form: Option<&[(String, String)]>,
    ) -> Result<Answer, String> {
        let mut request = self.client.request(method, url);
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            let value = HeaderValue::from_bytes(value.as_bytes()).map_err(|e| e.to_string())?;
            request = request.header(name, value);
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request.send().await.map_err(|e| error_chain(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| error_chain(&e))?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// An error with every cause it wraps: reqwest's own text hides the cause (a certificate, a
/// refused connection). The lab's harness shows its failures with this too.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        // An error's text often repeats its source's (`... failed: {source}`): once is enough.
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}
