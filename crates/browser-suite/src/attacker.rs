//! Mallory's web servers: a page on a sibling subdomain (`http://evil.lab.test:PORT`) or on
//! another site (`http://attacker.example:PORT`), served by the test itself on loopback.

use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::task::JoinHandle;

use crate::{BrowserError, Result};

/// A web server that answers every `GET /` with one page, and optionally sets a cookie.
pub struct Attacker {
    addr: SocketAddr,
    host: &'static str,
    task: JoinHandle<()>,
}

impl Attacker {
    /// Serves `page` as `http://host:PORT/` (the browser resolves `host` to loopback), with
    /// `Set-Cookie: set_cookie` when given.
    pub async fn serve(
        host: &'static str,
        page: String,
        set_cookie: Option<String>,
    ) -> Result<Attacker> {
        let app = Router::new().route(
            "/",
            get(move || {
                let (page, set_cookie) = (page.clone(), set_cookie.clone());
                async move {
                    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page)
                        .into_response();
                    if let Some(cookie) = set_cookie
                        && let Ok(value) = cookie.parse()
                    {
                        response.headers_mut().insert(header::SET_COOKIE, value);
                    }
                    response
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(BrowserError::io("binding the attacker's server"))?;
        let addr = listener
            .local_addr()
            .map_err(BrowserError::io("reading the attacker's address"))?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Attacker { addr, host, task })
    }

    /// A page that posts a form to `action` as soon as it loads, as a victim's visit would.
    pub fn auto_post(action: &str, fields: &[(&str, &str)]) -> String {
        let inputs: String = fields
            .iter()
            .map(|(name, value)| format!(r#"<input type="hidden" name="{name}" value="{value}">"#))
            .collect();
        format!(
            r#"<!doctype html><title>Win a prize</title>
<form method="post" action="{action}">{inputs}</form>
<script>document.forms[0].submit()</script>"#
        )
    }

    /// The page's URL, as the browser should open it.
    pub fn url(&self) -> String {
        format!("http://{}:{}/", self.host, self.addr.port())
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.task.abort();
    }
}
