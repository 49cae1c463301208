//! What an nginx site config says about TLS, read from its text: what nginx itself accepts but
//! a deployment must not keep (the 2012 recipe's `ssl on`, SSLv3, TLS 1.0). A live probe cannot
//! always see these: Debian's OpenSSL 3 refuses TLS 1.0 at its default security level whatever
//! the config says, and the same config on another build would speak it.

/// One problem: the directive as written, and what to do instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The directive, as written (`ssl_protocols SSLv3 TLSv1`).
    pub directive: String,
    /// Why it is wrong and what to write instead.
    pub advice: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{};`: {}", self.directive, self.advice)
    }
}

/// Protocols that must not be enabled (RFC 7568, RFC 8996).
const OLD_PROTOCOLS: [&str; 4] = ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"];

/// The TLS problems of a site config: `ssl on`, protocols below TLS 1.2, or no
/// `ssl_protocols` at all where a server listens with TLS.
pub fn tls_findings(site: &str) -> Vec<Finding> {
    let statements = statements(site);
    let mut findings = Vec::new();
    let mut has_protocols = false;
    let mut has_tls = false;
    for words in &statements {
        let directive = words.join(" ");
        match words.as_slice() {
            [name, value] if *name == "ssl" && *value == "on" => {
                has_tls = true;
                findings.push(Finding {
                    directive,
                    advice: "`ssl on` was removed in nginx 1.25.1 (older versions only warn): \
                             TLS goes on the listen line, `listen 443 ssl;`"
                        .into(),
                });
            }
            [name, args @ ..] if *name == "listen" => {
                has_tls |= args.contains(&"ssl");
            }
            [name, protocols @ ..] if *name == "ssl_protocols" => {
                has_protocols = true;
                let old: Vec<&str> = protocols
                    .iter()
                    .copied()
                    .filter(|p| OLD_PROTOCOLS.contains(p))
                    .collect();
                if !old.is_empty() {
                    findings.push(Finding {
                        directive,
                        advice: format!(
                            "{} {} broken or deprecated (RFC 7568, RFC 8996): enable only \
                             `ssl_protocols TLSv1.2 TLSv1.3;`",
                            old.join(", "),
                            if old.len() == 1 { "is" } else { "are" }
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    if has_tls && !has_protocols {
        findings.push(Finding {
            directive: "ssl_protocols (missing)".into(),
            advice: "without it nginx before 1.23.4 enables TLS 1.0 and 1.1: say \
                     `ssl_protocols TLSv1.2 TLSv1.3;`"
                .into(),
        });
    }
    findings
}

/// The config's simple directives and block openers, each as its words, comments removed.
/// Quotes are not interpreted: the directives read here take none.
fn statements(config: &str) -> Vec<Vec<&str>> {
    let uncommented: Vec<&str> = config
        .lines()
        .map(|line| line.split_once('#').map_or(line, |(code, _)| code))
        .collect();
    let mut statements = Vec::new();
    let mut words = Vec::new();
    for line in uncommented {
        let mut rest = line;
        while let Some(at) = rest.find([';', '{', '}']) {
            words.extend(rest[..at].split_whitespace());
            if !words.is_empty() {
                statements.push(std::mem::take(&mut words));
            }
            rest = &rest[at + 1..];
        }
        words.extend(rest.split_whitespace());
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECIPE: &str = "server {\n    listen 443;\n    ssl on;\n    # ssl_protocols TLSv1.2;\n    \
        ssl_protocols SSLv2 SSLv3 TLSv1;\n    ssl_ciphers HIGH:!aNULL:!MD5;\n}\n";

    #[test]
    fn the_recipe_has_ssl_on_and_old_protocols() {
        let findings = tls_findings(RECIPE);
        let directives: Vec<&str> = findings.iter().map(|f| f.directive.as_str()).collect();
        assert_eq!(directives, ["ssl on", "ssl_protocols SSLv2 SSLv3 TLSv1"]);
        assert!(findings[1].advice.starts_with("SSLv2, SSLv3, TLSv1 are"));
    }

    #[test]
    fn the_lab_stages_have_no_finding() {
        for site in [
            include_str!("../../../../nginx/stage2.conf"),
            include_str!("../../../../nginx/stage3.conf"),
            include_str!("../../../../nginx/stage4.conf"),
        ] {
            assert_eq!(tls_findings(site), []);
        }
    }

    #[test]
    fn tls_without_ssl_protocols_is_a_finding() {
        let findings = tls_findings("server { listen 443 ssl; }");
        assert_eq!(findings.len(), 1);
        assert!(findings[0].advice.contains("1.23.4"));
        assert_eq!(tls_findings("server { listen 80; }"), []);
    }

    #[test]
    fn one_old_protocol_among_new_ones_is_found() {
        let findings = tls_findings("ssl_protocols TLSv1.1 TLSv1.2 TLSv1.3;");
        assert_eq!(findings.len(), 1);
        assert!(findings[0].advice.starts_with("TLSv1.1 is"));
    }
}
