//! What lab 2 asks of your nginx.conf beyond stage 2's claims: a config that current nginx
//! accepts, at an edge that passes on no claim the client made.

use labkit::walkthrough::{FORGED_IP, me_with};
use labkit::{Lab, Result};

use crate::stage_under_test;

#[tokio::test]
async fn the_config_passes_nginx_t() {
    let site = stage_under_test::NGINX_SITE.expect("lab 2 has an nginx.conf");
    if let Err(error) = labkit::edge::check_config(site) {
        panic!("`nginx -t` refuses labs/lab2-nginx/nginx.conf:\n{error}");
    }
}

#[tokio::test]
async fn the_edge_overwrites_x_forwarded_for() -> Result<()> {
    let lab = Lab::start(&labkit::stage!(stage_under_test)).await?;
    let me = me_with(lab.client(), &[("x-forwarded-for", FORGED_IP)]).await?;
    let you = lab.client_address();
    assert_eq!(
        me.x_forwarded_for,
        Some(you.to_string()),
        "the client claimed X-Forwarded-For: {FORGED_IP}; nginx at the edge should replace it with the address it saw ({you}), but the app received {:?}. `$proxy_add_x_forwarded_for` appends to the client's claim: at the edge use `$remote_addr`{}",
        me.x_forwarded_for,
        lab.report()
    );
    Ok(())
}
