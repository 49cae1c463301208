//! The cause behind a stage 3 symptom, found before the symptom is asserted: a lost session or
//! an unforgeable header tells a participant nothing about *why*; whether the app trusts nginx,
//! and whether it trusts anyone else, does. The app says both on `/me` (`peer_trusted`).

use crate::error::Result;
use crate::lab::Lab;

/// Fails, leading with the cause, when the app does not trust the nginx in front of it.
pub async fn assert_nginx_is_trusted(lab: &Lab) -> Result<()> {
    if let Some(failure) = nginx_not_trusted(lab).await? {
        panic!("{failure}");
    }
    Ok(())
}

/// What [`assert_nginx_is_trusted`] fails with, or `None` when the app trusts nginx (or there
/// is no nginx): the cause, then the lab's report.
pub async fn nginx_not_trusted(lab: &Lab) -> Result<Option<String>> {
    let Some(edge) = lab.edge() else {
        return Ok(None);
    };
    let me = lab.new_client()?.me().await?;
    if me.peer_trusted {
        return Ok(None);
    }
    // The report shows nginx's line for this very request.
    edge.logged("\"GET /me ", std::time::Duration::from_secs(2))
        .await;
    Ok(Some(format!(
        "CAUSE: the app does not trust nginx. nginx connected from {peer}, which the trust \
         policy does not contain, so the app ignores everything nginx says (X-Forwarded-Proto: \
         https, the client's address, the host).\n  Where the proxy is comes from the \
         deployment's configuration; in the lab, from `env.proxy_addresses` (this run: \
         {addresses}). An address or a network copied from a run, a warning or a Docker \
         inspect fails the next run: the lab's network is drawn anew every time.{report}",
        peer = me.peer,
        addresses = list(lab),
        report = lab.report()
    )))
}

/// Fails, leading with the cause, when the app also trusts a client that reached it directly,
/// around nginx.
pub async fn assert_only_nginx_is_trusted(lab: &Lab) -> Result<()> {
    let me = lab.direct_client()?.me().await?;
    let is_a_proxy = me
        .peer
        .parse()
        .is_ok_and(|peer| lab.env().proxy_addresses.contains(&peer));
    // With the native backend nginx and a direct client share 127.0.0.1: nothing to tell apart.
    if is_a_proxy {
        return Ok(());
    }
    assert!(
        !me.peer_trusted,
        "CAUSE: the app trusts too widely. {peer} reached the app directly, around nginx, and \
         was trusted, so anyone who reaches the app can forge X-Forwarded-Proto and \
         X-Forwarded-For. `TrustPolicy::all()` (Express's `trust proxy = true`) trusts \
         everyone, a hop count such as `hops(1)` (`trust proxy = 1`) trusts whoever connects, \
         and a wide range trusts strangers. Trust exactly the proxies: `env.proxy_addresses` \
         (this run: {addresses}).{report}",
        peer = me.peer,
        addresses = list(lab),
        report = lab.report()
    );
    Ok(())
}

fn list(lab: &Lab) -> String {
    let addresses: Vec<String> = lab
        .env()
        .proxy_addresses
        .iter()
        .map(ToString::to_string)
        .collect();
    addresses.join(", ")
}
