//! The workshop's exercises, in one table: where each lab lives, what the participant edits,
//! the hints (questions that lead, then a pointer to the book), and what `verify-labs`
//! expects of the starter and of the common mistakes.

/// One exercise.
pub struct Lab {
    /// Its stage.
    pub number: u8,
    /// Its Cargo package.
    pub package: &'static str,
    /// Its directory, from the workspace root.
    pub dir: &'static str,
    /// The files the participant edits, relative to `dir`.
    pub edits: &'static [&'static str],
    /// Hints, shown one at a time by `cargo xtask hint N`.
    pub hints: &'static [&'static str],
    /// Tests the untouched starter must fail.
    pub starter_fails: &'static [&'static str],
    /// Wrong answers people give, and what the grade must tell them.
    pub mistakes: &'static [Mistake],
}

/// A common wrong answer, kept under `<dir>/mistakes/<name>/` (files laid over the solution).
pub struct Mistake {
    /// Its directory name.
    pub name: &'static str,
    /// A test that must fail on it.
    pub fails: &'static str,
    /// Words the failing grade must contain.
    pub message: &'static str,
}

/// Where a file of `solution/` or `mistakes/<name>/` goes: `lib.rs` is the crate's
/// `src/lib.rs`, anything else sits at the crate's root (`nginx.conf`).
pub fn target_of(file: &str) -> String {
    match file {
        "lib.rs" => "src/lib.rs".to_owned(),
        other => other.to_owned(),
    }
}

pub const LABS: &[Lab] = &[
    Lab {
        number: 1,
        package: "lab1-sessions",
        dir: "labs/lab1-sessions",
        edits: &["src/lib.rs"],
        hints: &[
            "What does a handler that asks for a `Session` need from the layers around it?",
            "tower-sessions' `SessionManagerLayer::new(MemoryStore::default())` gives every request a session. Where does it go in the chain of `.layer(...)` calls?",
            "Over plain HTTP, a browser refuses a cookie marked Secure outright: it never stores it, so it never comes back. What does `.with_secure(false)` change? Book: book/src/stage-1.md",
        ],
        starter_fails: &[
            "sessions_work_over_plain_http",
            "the_session_cookie_lacks_secure",
            "a_network_observer_reads_the_session_id_in_cleartext",
        ],
        mistakes: &[Mistake {
            name: "secure-cookie-over-http",
            fails: "sessions_work_over_plain_http",
            message: "Secure",
        }],
    },
    Lab {
        number: 2,
        package: "lab2-nginx",
        dir: "labs/lab2-nginx",
        edits: &["nginx.conf"],
        hints: &[
            "Run `cargo xtask lab 2 --mine`: what does nginx say about your config, and what does the client say about the TLS handshake?",
            "`ssl on;` no longer exists in current nginx: TLS goes on the listen line. Which protocols does OpenSSL 3 still speak?",
            "X-Forwarded-For: should the edge append to what the client sent, or replace it? Book: book/src/stage-2.md and the recipe chapter",
        ],
        starter_fails: &[
            "login_behind_proxy_loses_the_session",
            "the_edge_overwrites_x_forwarded_for",
            "the_config_passes_nginx_t_without_a_warning",
            "the_config_enables_only_tls_1_2_and_1_3",
        ],
        mistakes: &[
            Mistake {
                name: "appended-x-forwarded-for",
                fails: "the_edge_overwrites_x_forwarded_for",
                message: "$proxy_add_x_forwarded_for",
            },
            Mistake {
                name: "no-forwarded-proto",
                fails: "the_edge_tells_the_app_the_scheme_and_host",
                message: "proxy_set_header X-Forwarded-Proto $scheme",
            },
            Mistake {
                name: "ssl-on",
                fails: "the_config_enables_only_tls_1_2_and_1_3",
                message: "`ssl on` was removed in nginx 1.25.1",
            },
            Mistake {
                name: "old-tls",
                fails: "the_config_enables_only_tls_1_2_and_1_3",
                message: "TLSv1, TLSv1.1 are broken or deprecated",
            },
            Mistake {
                name: "recipe-ciphers",
                fails: "the_edge_refuses_cbc_suites",
                message: "nginx agreed to a CBC suite",
            },
        ],
    },
    Lab {
        number: 3,
        package: "lab3-trust",
        dir: "labs/lab3-trust",
        edits: &["src/lib.rs"],
        hints: &[
            "Which requests should the app believe when they say \"https\" or \"the client is X\"? Who sends them?",
            "`env.proxy_addresses` holds the addresses nginx connects from. Is there a `TrustPolicy` constructor that takes addresses?",
            "`TrustPolicy::all()` makes every symptom go away, and lets anyone who reaches the app forge HTTPS and their address. Book: book/src/stage-3.md",
        ],
        starter_fails: &[
            "login_behind_trusted_proxy_keeps_the_session",
            "https_only_route_answers_without_a_loop",
            "app_sees_the_client_address_not_nginx",
            "absolute_urls_say_https_with_the_public_host_and_port",
        ],
        mistakes: &[
            Mistake {
                name: "trust-everything",
                fails: "forged_forwarded_proto_from_outside_is_ignored",
                message: "CAUSE: the app trusts too widely",
            },
            Mistake {
                name: "hop-count",
                fails: "forged_forwarded_proto_from_outside_is_ignored",
                message: "a hop count such as `hops(1)`",
            },
            Mistake {
                name: "hard-coded-network",
                fails: "login_behind_trusted_proxy_keeps_the_session",
                message: "CAUSE: the app does not trust nginx",
            },
            Mistake {
                name: "hard-coded-address",
                fails: "login_behind_trusted_proxy_keeps_the_session",
                message: "CAUSE: the app does not trust nginx",
            },
        ],
    },
    Lab {
        number: 4,
        package: "lab4-hardening",
        dir: "labs/lab4-hardening",
        edits: &["src/lib.rs"],
        hints: &[
            "Read the grade's first failure: is it about the store, the cookie, the id or time?",
            "`Store::open(&settings.store_url)` is a session store like `MemoryStore`. `SessionManagerLayer` has `with_name`, `with_same_site`, `with_expiry`, `with_always_save`.",
            "A planted id must not survive login: look at `AppOptions`. And `hardening::absolute_lifetime` is a middleware taking the lifetime as its state. Book: book/src/stage-4-hardening.md",
            "Does SameSite=Lax stop a form on another site from logging your visitor in as someone else? Does it stop a sibling subdomain, which is the same site? `hardening::same_origin_only` goes outside the session layer, inside the trust layer (it needs the origin).",
            "A sibling subdomain cannot set `__Host-id`, but it can set `%5F_Host-id`. What name does tower-cookies read for it? `hardening::exact_session_cookie` takes your cookie's name as its state. Book: book/src/stage-4-hardening.md",
            "Two `Duration`s: `Settings` holds `std::time::Duration`, tower-sessions' `Expiry::OnInactivity` takes `time::Duration` (the `time` crate). `time::Duration::try_from(std_duration)` converts.",
            "Which `axum::middleware` helper? A function that sees the request and calls `next` is `from_fn` (`from_fn_with_state` when it takes a value, like the lifetime or the cookie name); one that only rewrites the response, like `hardening::secure_host_cookies`, is `map_response`.",
            "Layer order: `Router::layer` wraps what came before, so the last `.layer(...)` runs first. From the outside in: `TrustedProxiesLayer`, `SecureCookieGuardLayer`, `same_origin_only`, `secure_host_cookies`, `exact_session_cookie`, the `SessionManagerLayer`, then `absolute_lifetime` (it needs the session). If the first failure is about HSTS or a 403, look at the order before anything else.",
        ],
        starter_fails: &[
            "the_session_cookie_is_host_prefixed_secure_httponly_and_lax",
            "login_cycles_the_session_id_so_a_planted_id_stays_anonymous",
            "logout_deletes_the_session_from_the_store",
            "an_active_session_still_ends_at_its_absolute_lifetime",
            "sessions_survive_an_app_restart_with_sqlite",
            "a_cross_site_login_form_is_refused",
            "a_cookie_whose_name_only_decodes_to_the_session_cookie_is_ignored",
            "the_walkthrough_meets_every_expectation_and_stops_the_attacks",
        ],
        mistakes: &[
            Mistake {
                name: "no-id-cycling",
                fails: "login_cycles_the_session_id_so_a_planted_id_stays_anonymous",
                message: "session fixation",
            },
            Mistake {
                name: "no-origin-check",
                fails: "a_cross_site_login_form_is_refused",
                message: "should be refused",
            },
            Mistake {
                name: "decoded-cookie-names",
                fails: "a_cookie_whose_name_only_decodes_to_the_session_cookie_is_ignored",
                message: "byte for byte",
            },
        ],
    },
    Lab {
        number: 5,
        package: "lab5-identity",
        dir: "labs/lab5-identity",
        edits: &["src/lib.rs"],
        hints: &[
            "Which of the grade's failures names a CAUSE? Who connected, from where, with which certificate?",
            "An address can be shared (a relay, a sidecar, a node's other pods) and can move. What does the proxy have that nobody else can show? `env.proxy_identities` holds it.",
            "`TrustPolicy::none().trust_identities(...)` trusts the peer whose verified certificate names the proxy, and no address. Adding `from_addrs` back trusts whoever shares the address again. Book: book/src/stage-5.md",
        ],
        starter_fails: &[
            "a_service_at_the_proxys_address_is_not_the_proxy",
            "a_rotated_proxy_certificate_is_trusted_without_restarting_the_app",
        ],
        mistakes: &[Mistake {
            name: "name-or-address",
            fails: "a_service_at_the_proxys_address_is_not_the_proxy",
            message: "CAUSE: the app trusts an address",
        }],
    },
];

/// Lab `number`, or an error listing the labs.
pub fn find(number: u8) -> anyhow::Result<&'static Lab> {
    LABS.iter().find(|lab| lab.number == number).ok_or_else(|| {
        anyhow::anyhow!("there is no lab {number}: the labs are 1 to {}", LABS.len())
    })
}
