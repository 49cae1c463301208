//! The nginx configuration around a stage's site: the frame is the harness's, the `server`
//! blocks are the stage's (under `nginx/` at the workspace root).

use std::fmt::Write as _;

/// The main `nginx.conf`: logging to the harness, an `upstream lab_app` for the app, and the
/// stage's site from `lab/site.conf` (relative paths resolve against this file's directory).
///
/// `user` is `user nobody nogroup;` where the master runs as root and empty otherwise;
/// `scratch` holds the pid file and temporary files; `upstreams` are the app's `host:port`s;
/// `https_port` is the public HTTPS port (where the client reaches nginx's `listen 443`),
/// which sites read as `$lab_https_port` to redirect plain HTTP there.
pub fn render_main(user: &str, scratch: &str, upstreams: &[String], https_port: u16) -> String {
    let mut servers = String::new();
    for upstream in upstreams {
        let _ = writeln!(servers, "        server {upstream};");
    }
    format!(
        r#"# Written by labkit: the frame around the stage's site config (lab/site.conf).
daemon off;
{user}
worker_processes 1;
# Twice worker_connections: each proxied connection holds two descriptors (client and app).
worker_rlimit_nofile 1024;
error_log stderr notice;
pid {scratch}/nginx.pid;

events {{
    worker_connections 512;
}}

http {{
    log_format lab '$remote_addr "$request" $status xff="$http_x_forwarded_for"';
    access_log /dev/stdout lab;
    client_body_temp_path {scratch}/client_body;
    proxy_temp_path {scratch}/proxy;
    fastcgi_temp_path {scratch}/fastcgi;
    uwsgi_temp_path {scratch}/uwsgi;
    scgi_temp_path {scratch}/scgi;

    # The public HTTPS port: nginx's `listen 443` is published on this port of 127.0.0.1, so a
    # redirect to https:// names it (`return 308 https://$host:$lab_https_port$request_uri;`).
    map "" $lab_https_port {{
        default {https_port};
    }}

    # The app under test. Stages say `proxy_pass http://lab_app;` (stage 5: https://).
    # `keepalive`: idle connections to the app kept open, for sites that speak HTTP/1.1 to it
    # with an empty Connection header (stages 3 to 5; stage 2, the recipe's, opens one per
    # request). At least as many as the load's concurrent requests: with a smaller pool
    # (16, for the bench's 32 connections) nginx closes the surplus after each request, and
    # stage 3 swung between 8,600 and 1,250 requests/s from one round to the next.
    upstream lab_app {{
{servers}        keepalive 64;
    }}

    include lab/site.conf;
}}
"#
    )
}

/// A site config rewritten for a native nginx: `listen 443` and `listen 80` become loopback
/// ports, since a user's nginx can neither bind the privileged ports nor share them.
pub fn native_site(site: &str, https_port: u16, http_port: u16) -> String {
    site.lines()
        .map(|line| rewrite_listen(line, https_port, http_port))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rewrite_listen(line: &str, https_port: u16, http_port: u16) -> String {
    let trimmed = line.trim_start();
    let Some(rest) = trimmed.strip_prefix("listen") else {
        return line.to_owned();
    };
    let Some(address) = rest.split_whitespace().next() else {
        return line.to_owned();
    };
    let address = address.trim_end_matches(';');
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) => (host, port),
        None => ("", address),
    };
    let port = match port {
        "443" => https_port,
        "80" => http_port,
        _ => return line.to_owned(),
    };
    let host = if host.starts_with('[') {
        "[::1]"
    } else {
        "127.0.0.1"
    };
    let indent = &line[..line.len() - trimmed.len()];
    format!(
        "{indent}listen {host}:{port}{}",
        &rest[rest.find(address).unwrap_or(0) + address.len()..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_sites_listen_on_loopback_ports() {
        let site = "server {\n    listen 443 ssl;\n    listen [::]:443 ssl;\n    listen 80;\n    listen 8080;\n}";
        assert_eq!(
            native_site(site, 4443, 8000),
            "server {\n    listen 127.0.0.1:4443 ssl;\n    listen [::1]:4443 ssl;\n    listen 127.0.0.1:8000;\n    listen 8080;\n}"
        );
    }

    #[test]
    fn the_frame_names_every_app_instance() {
        let conf = render_main("", "/tmp/x", &["a:1".into(), "b:2".into()], 4443);
        assert!(conf.contains("server a:1;\n        server b:2;"), "{conf}");
        assert!(conf.contains("include lab/site.conf;"), "{conf}");
    }

    #[test]
    fn the_frame_tells_sites_the_public_https_port() {
        let conf = render_main("", "/tmp/x", &["a:1".into()], 4443);
        assert!(
            conf.contains("map \"\" $lab_https_port {\n        default 4443;\n    }"),
            "{conf}"
        );
    }
}
