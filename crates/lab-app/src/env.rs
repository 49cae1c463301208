use std::net::IpAddr;

/// What a stage's app is told about where it runs, by whoever starts it (the lab's harness,
/// or your own `main`).
#[derive(Clone, Debug, Default)]
pub struct AppEnv {
    /// The addresses proxies connect to the app from; empty when the app is served directly.
    /// A stage that trusts its proxy names these in its trust policy.
    pub proxy_addresses: Vec<IpAddr>,
    /// The names the proxies' client certificates prove, where they reach the app over mutual
    /// TLS (stage 5): a stage that trusts its proxy by identity names these.
    pub proxy_identities: Vec<String>,
    /// The hosts the app is published under, with their port where it is not the scheme's
    /// default (`app.lab.test:8443`), for an app that checks the host it builds URLs from.
    pub public_hosts: Vec<String>,
    /// Where sessions should live (`sqlite://...`, `redis://...`), if the environment says;
    /// stages with an in-memory store ignore it.
    pub session_store: Option<String>,
}
