//! Why a row missed its target: a CPU profile of the row's process, taken with perf during one
//! extra load run, and summed up by where the time went.
//!
//! `perf record -e cpu-clock -F 999 -p PID -- sleep N` samples the row's process (every thread,
//! kernel and user space) while wrk runs the same `GET /me` load as the measured runs. The
//! software clock works where hardware counters do not (virtual machines), and a process as
//! root or with `perf_event_paranoid` at 1 or less may be sampled. The profiled run is not one of
//! the measured ones: perf's sampling costs the process a little, and the medians stay
//! perf-free. `perf report --no-children --sort dso,sym` then counts the samples per function
//! in which they landed (self time), which [`Summary::from_report`] sorts into the kinds of
//! work issue 16 asks about: the kernel, the allocator, TLS, the session store's client, the
//! runtime and HTTP, the app.
//!
//! Self time names the function that was running, not who called it: a `memcpy` that fred
//! asked for counts as a copy, not as fred. Release builds have no frame pointers, so the
//! callers perf would unwind are not trustworthy; self time is.
//!
//! Without perf the report says so, and how to install it: the profile is never skipped
//! silently.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, bail, ensure};

/// Samples per second. Lower than perf's default (4000) so that sampling costs the profiled
/// process little; ten seconds still give ~10,000 samples per busy core.
pub const FREQUENCY: u32 = 999;

/// How to get perf, where the report says it is missing.
pub const INSTALL: &str = "apt-get install linux-perf (Debian; linux-tools-generic on Ubuntu)";

/// What a profile is shown with: the top functions.
pub const TOP: usize = 8;

/// A kind of work, by the function a sample landed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Any kernel function: the network stack, system calls, the scheduler.
    Kernel,
    /// malloc, free, realloc (glibc's or mimalloc's) and Rust's calls into them.
    Allocator,
    /// memcpy, memmove, memset.
    Copies,
    /// rustls and ring (stage 5's mutual TLS; the inner hop is plain HTTP before it).
    Tls,
    /// The session store's client: fred and redis-protocol, sqlx and SQLite.
    Store,
    /// serde_json and rmp-serde: the session's data and the app's answers, encoded and decoded.
    Serde,
    /// tokio, mio, hyper, httparse, http, axum, tower, bytes, futures.
    Runtime,
    /// The app and its layers: lab-app, tower-sessions, trusted-proxies, the stage crates.
    App,
    /// Everything else in user space (Rust's standard library, glibc's other functions, the
    /// harness, unresolved addresses).
    Other,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Kernel,
        Kind::Allocator,
        Kind::Copies,
        Kind::Tls,
        Kind::Store,
        Kind::Serde,
        Kind::Runtime,
        Kind::App,
        Kind::Other,
    ];

    /// The column's heading in the report.
    pub fn heading(self) -> &'static str {
        match self {
            Kind::Kernel => "kernel",
            Kind::Allocator => "allocator",
            Kind::Copies => "memcpy/memmove",
            Kind::Tls => "TLS, crypto",
            Kind::Store => "store client",
            Kind::Serde => "serde",
            Kind::Runtime => "tokio, hyper, axum",
            Kind::App => "app, sessions layer",
            Kind::Other => "other user",
        }
    }
}

/// Crates by kind, as the first segment of a Rust symbol's path.
const CRATES: &[(Kind, &[&str])] = &[
    (Kind::Allocator, &["mimalloc", "libmimalloc_sys"]),
    (
        Kind::Tls,
        &[
            "rustls",
            "ring",
            "tokio_rustls",
            "webpki",
            "rustls_webpki",
            "rustls_pki_types",
        ],
    ),
    (
        Kind::Store,
        &[
            "fred",
            "redis_protocol",
            "tower_sessions_redis_store",
            "sqlx",
            "sqlx_core",
            "sqlx_sqlite",
            "libsqlite3_sys",
            "flume",
        ],
    ),
    (Kind::Serde, &["serde", "serde_json", "rmp", "rmp_serde"]),
    (
        Kind::Runtime,
        &[
            "tokio",
            "tokio_util",
            "mio",
            "hyper",
            "hyper_util",
            "httparse",
            "http",
            "http_body",
            "http_body_util",
            "axum",
            "axum_core",
            "tower",
            "tower_layer",
            "tower_service",
            "tower_http",
            "bytes",
            "futures_util",
            "futures_core",
            "futures_channel",
            "parking_lot",
            "parking_lot_core",
            "crossbeam_channel",
            "crossbeam_utils",
        ],
    ),
    (
        Kind::App,
        &[
            "lab_app",
            "tower_sessions",
            "tower_sessions_core",
            "trusted_proxies",
            "stage3_trust_proxy",
            "stage4_secure_store",
            "stage5_mutual_tls",
            "cookie",
            "time",
            "tracing",
            "tracing_core",
        ],
    ),
];

/// C functions (no `::` in the name) by kind, as prefixes once leading underscores and glibc's
/// `__GI_` are dropped. The allocator's Rust shims (`__rust_alloc`, `__rdl_alloc`) are here
/// too, and mimalloc's `mi_`/`_mi_` functions.
const C_PREFIXES: &[(Kind, &[&str])] = &[
    (Kind::Copies, &["memmove", "memcpy", "mempcpy", "memset"]),
    (
        Kind::Allocator,
        &[
            "malloc",
            "libc_malloc",
            "free",
            "cfree",
            "libc_free",
            "realloc",
            "libc_realloc",
            "calloc",
            "libc_calloc",
            "posix_memalign",
            "aligned_alloc",
            "int_malloc",
            "int_free",
            "int_realloc",
            "int_memalign",
            "malloc_consolidate",
            "tcache_",
            "unlink_chunk",
            "sysmalloc",
            "systrim",
            "rust_alloc",
            "rust_dealloc",
            "rust_realloc",
            "rust_no_alloc_shim",
            "rdl_",
            "rg_",
            "mi_",
        ],
    ),
    (
        Kind::Tls,
        &[
            "ring_core_",
            "aes_hw_",
            "aes_nohw_",
            "aesni_",
            "vpaes_",
            "gcm_",
            "GFp_",
            "ChaCha20_",
            "chacha20_",
            "poly1305_",
            "sha256_block_data_order",
            "sha512_block_data_order",
            "ecp_nistz256_",
            "x25519_",
            "bn_",
            "LIMBS_",
        ],
    ),
    // SQLite is compiled into the binary: its exported functions and its static ones.
    (
        Kind::Store,
        &[
            "sqlite3",
            "btree",
            "pager",
            "pcache",
            "vdbe",
            "wal",
            "unix",
            "getAndInitPage",
            "moveTo",
            "accessPayload",
            "yy_",
        ],
    ),
];

/// The kind of work a sample in `symbol` (in `dso`) did. `kernel` is perf's `[k]`.
pub fn kind_of(dso: &str, symbol: &str, kernel: bool) -> Kind {
    if kernel || dso == "[kernel.kallsyms]" {
        return Kind::Kernel;
    }
    if dso.starts_with("libssl") || dso.starts_with("libcrypto") {
        return Kind::Tls;
    }
    // Rust's allocator shims, `__rustc::__rust_alloc` and the like: C-like names in a path.
    let symbol = symbol.strip_prefix("__rustc::").unwrap_or(symbol);
    if symbol.contains("::") {
        // Vec and Box growing and freeing is the allocator's work, whoever's vector it is.
        if symbol.contains("alloc::raw_vec::") && !symbol.contains("as core::clone::Clone") {
            return Kind::Allocator;
        }
        return crates_in(symbol)
            .find_map(|name| {
                CRATES
                    .iter()
                    .find(|(_, names)| names.contains(&name))
                    .map(|(kind, _)| *kind)
            })
            .unwrap_or(Kind::Other);
    }
    let bare = symbol.strip_prefix("__GI_").unwrap_or(symbol);
    let bare = bare.trim_start_matches('_');
    C_PREFIXES
        .iter()
        .find(|(_, prefixes)| prefixes.iter().any(|p| bare.starts_with(p)))
        .map_or(Kind::Other, |(kind, _)| *kind)
}

/// The crates named in a Rust symbol, in order: the first segment of every path in it,
/// Rust's own (`core`, `alloc`, `std`) left out. `core::ptr::drop_in_place<fred::types::Value>`
/// names `fred`; `<hyper::A as tower_service::Service>::call` names `hyper`, then
/// `tower_service`.
fn crates_in(symbol: &str) -> impl Iterator<Item = &str> {
    let bytes = symbol.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !ident(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && ident(bytes[i]) {
            i += 1;
        }
        let after_path = start >= 2 && &bytes[start - 2..start] == b"::";
        let before_path = bytes[i..].starts_with(b"::");
        if before_path && !after_path {
            found.push(&symbol[start..i]);
        }
    }
    found
        .into_iter()
        .filter(|name| !matches!(*name, "core" | "alloc" | "std" | "impl"))
}

/// One function, from `perf report`.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub symbol: String,
    pub dso: String,
    pub kind: Kind,
    pub samples: u64,
}

/// A profile, summed up.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub samples: u64,
    /// Samples per kind, in [`Kind::ALL`]'s order.
    pub by_kind: Vec<(Kind, u64)>,
    /// The functions with the most samples, most first.
    pub top: Vec<Function>,
}

impl Summary {
    /// Reads `perf report --stdio --no-children --sort dso,sym -n -t '\t'`: after `#` comment
    /// lines, one function a line, `OVERHEAD%\tSAMPLES\tDSO\t[k] SYMBOL` (`[.]` in user space).
    pub fn from_report(text: &str) -> anyhow::Result<Summary> {
        let mut functions = Vec::new();
        for line in text.lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
            let [_overhead, samples, dso, symbol] = fields[..] else {
                bail!("perf report: a line with {} fields: {line:?}", fields.len());
            };
            let samples: u64 = samples
                .parse()
                .with_context(|| format!("perf report: no sample count in {line:?}"))?;
            let (kernel, symbol) = match symbol.split_once("] ") {
                Some((level, name)) if level.starts_with('[') => (level == "[k", name),
                _ => (false, symbol),
            };
            let symbol = without_hash(symbol.trim());
            functions.push(Function {
                kind: kind_of(dso, symbol, kernel),
                symbol: symbol.to_owned(),
                dso: dso.to_owned(),
                samples,
            });
        }
        let samples: u64 = functions.iter().map(|f| f.samples).sum();
        ensure!(samples > 0, "perf recorded no sample of the row's process");
        let by_kind = Kind::ALL
            .iter()
            .map(|kind| {
                let n = functions
                    .iter()
                    .filter(|f| f.kind == *kind)
                    .map(|f| f.samples)
                    .sum();
                (*kind, n)
            })
            .collect();
        functions.sort_by_key(|f| std::cmp::Reverse(f.samples));
        functions.truncate(TOP);
        Ok(Summary {
            samples,
            by_kind,
            top: functions,
        })
    }

    /// A share of all samples, in %.
    pub fn pct(&self, samples: u64) -> f64 {
        100.0 * samples as f64 / self.samples.max(1) as f64
    }

    pub fn of(&self, kind: Kind) -> u64 {
        self.by_kind
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }
}

/// Rust's legacy mangling leaves `::h0123456789abcdef` at the end of a demangled name.
fn without_hash(symbol: &str) -> &str {
    match symbol.rsplit_once("::h") {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name
        }
        _ => symbol,
    }
}

/// perf, sampling a process until its `sleep` ends.
pub struct Recording {
    child: Child,
    data: PathBuf,
}

/// Whether perf can be run here, or what the report should say instead.
pub fn check_perf() -> Result<(), String> {
    match Command::new("perf")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
    {
        Ok(output) if output.status.success() => Ok(()),
        // Debian's /usr/bin/perf is a wrapper that fails when no perf matches the kernel.
        Ok(output) => Err(format!(
            "`perf --version` failed ({}): {}; install a perf for this kernel: {INSTALL}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("perf is not installed: {INSTALL}"))
        }
        Err(error) => Err(format!("perf could not be run: {error}")),
    }
}

impl Recording {
    /// Starts sampling process `pid` (all its threads) for `seconds`, into a file in `dir`.
    pub fn start(pid: u32, seconds: u64, dir: &Path, name: &str) -> anyhow::Result<Recording> {
        let data = dir.join(format!("perf-{name}.data"));
        let child = Command::new("perf")
            .args(["record", "-e", "cpu-clock", "-F", &FREQUENCY.to_string()])
            .arg("-p")
            .arg(pid.to_string())
            .arg("-o")
            .arg(&data)
            .args(["--", "sleep", &seconds.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting `perf record`")?;
        Ok(Recording { child, data })
    }

    /// Waits for perf to finish, and sums up what it recorded.
    pub fn finish(self) -> anyhow::Result<Summary> {
        let output = self
            .child
            .wait_with_output()
            .context("waiting for `perf record`")?;
        ensure!(
            output.status.success(),
            "`perf record` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        let report = Command::new("perf")
            .arg("report")
            .arg("-i")
            .arg(&self.data)
            .args(["--stdio", "--no-children", "--sort", "dso,sym", "-n"])
            .args(["-t", "\t"])
            .stdin(Stdio::null())
            .output()
            .context("running `perf report`")?;
        ensure!(
            report.status.success(),
            "`perf report` failed ({}): {}",
            report.status,
            String::from_utf8_lossy(&report.stderr).trim()
        );
        let _ = std::fs::remove_file(&self.data);
        Summary::from_report(&String::from_utf8_lossy(&report.stdout))
    }
}

/// Cut from `perf report --stdio --no-children --sort dso,sym -n -t '\t'` on the stage 4,
/// Redis row's process (the counts made round for the test).
#[cfg(test)]
pub const SAMPLE_REPORT: &str = "# To display the perf.data header info, please use --header/--header-only options.
#
#
# Total Lost Samples: 0
#
# Samples: 1K of event 'cpu-clock'
# Event count (approx.): 1000000000
#
# Overhead\tSamples\tShared Object    \tSymbol                       
 30.00% \t300\t[kernel.kallsyms]\t[k] _raw_spin_unlock_irqrestore
 10.00% \t100\t[kernel.kallsyms]\t[k] tcp_sendmsg_locked
 9.00%  \t90\tlab-bench        \t[.] fred::protocol::codec::RedisCodec::decode
 8.00%  \t80\tlibc.so.6        \t[.] _int_malloc
 7.00%  \t70\tlibc.so.6        \t[.] __memmove_avx_unaligned_erms
 6.00%  \t60\tlab-bench        \t[.] <hyper::proto::h1::role::Server as hyper::proto::h1::Http1Transaction>::parse
 5.00%  \t50\tlibc.so.6        \t[.] __GI___libc_free
 5.00%  \t50\tlab-bench        \t[.] core::ptr::drop_in_place<fred::types::Value>
 4.00%  \t40\tlab-bench        \t[.] tokio::runtime::scheduler::multi_thread::worker::Context::run::h0123456789abcdef
 4.00%  \t40\tlab-bench        \t[.] rmp_serde::decode::Deserializer<R,C>::read_str_data
 3.00%  \t30\tlab-bench        \t[.] alloc::raw_vec::RawVec<T,A>::grow_one
 3.00%  \t30\tlab-bench        \t[.] <tower_sessions::service::SessionManager<S,Store> as tower_service::Service<R>>::call::{{closure}}
 2.00%  \t20\tlab-bench        \t[.] sqlite3VdbeExec
 1.00%  \t10\tlab-bench        \t[.] ring_core_0_17_14__aes_hw_ctr32_encrypt_blocks
 1.00%  \t10\tlab-bench        \t[.] std::sys::pal::unix::time::Timespec::now
 1.00%  \t10\t[unknown]        \t[.] 0x00007f3a2b1c0d4e
 1.00%  \t10\tlab-bench        \t[.] <alloc::string::String as core::clone::Clone>::clone


";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_a_report_by_kind_of_work() {
        let s = Summary::from_report(SAMPLE_REPORT).unwrap();
        assert_eq!(s.samples, 1000);
        let share: Vec<(Kind, u64)> = s.by_kind.clone();
        assert_eq!(
            share,
            vec![
                (Kind::Kernel, 400),
                // _int_malloc, free, grow_one
                (Kind::Allocator, 160),
                (Kind::Copies, 70),
                (Kind::Tls, 10),
                // fred's decode and its Value's drop, SQLite
                (Kind::Store, 160),
                (Kind::Serde, 40),
                (Kind::Runtime, 100),
                (Kind::App, 30),
                // Timespec::now, the unresolved address, String's clone
                (Kind::Other, 30),
            ]
        );
        assert_eq!(s.pct(s.of(Kind::Kernel)), 40.0);
        assert_eq!(s.top.len(), TOP);
        assert_eq!(s.top[0].symbol, "_raw_spin_unlock_irqrestore");
        assert_eq!(s.top[0].kind, Kind::Kernel);
        assert_eq!(
            (s.top[2].symbol.as_str(), s.top[2].kind, s.top[2].samples),
            ("fred::protocol::codec::RedisCodec::decode", Kind::Store, 90)
        );
        let one = Summary::from_report(
            " 4.00%  \t40\tlab-bench        \t[.] tokio::runtime::task::raw::poll::h0123456789abcdef\n",
        )
        .unwrap();
        assert_eq!(
            one.top[0].symbol, "tokio::runtime::task::raw::poll",
            "the legacy mangling's hash is dropped"
        );
    }

    #[test]
    fn a_rust_symbol_belongs_to_the_first_crate_it_names_beyond_std() {
        let cases = [
            ("core::ptr::drop_in_place<fred::types::Value>", Kind::Store),
            (
                "<hyper::proto::h1::role::Server as hyper::proto::h1::Http1Transaction>::parse",
                Kind::Runtime,
            ),
            // `std::time::` names no crate called `time`.
            ("std::time::Instant::now", Kind::Other),
            ("time::offset_date_time::OffsetDateTime::now_utc", Kind::App),
            ("alloc::raw_vec::finish_grow", Kind::Allocator),
            (
                "<mimalloc::MiMalloc as core::alloc::global::GlobalAlloc>::alloc",
                Kind::Allocator,
            ),
            ("rustls::conn::ConnectionCommon<T>::read_tls", Kind::Tls),
            (
                "sqlx_sqlite::connection::worker::ConnectionWorker::establish::{{closure}}",
                Kind::Store,
            ),
        ];
        for (symbol, kind) in cases {
            assert_eq!(kind_of("lab-bench", symbol, false), kind, "{symbol}");
        }
    }

    #[test]
    fn c_functions_go_by_their_prefix() {
        let cases = [
            ("__memcpy_avx_unaligned_erms", Kind::Copies),
            ("__GI_memset", Kind::Copies),
            ("malloc", Kind::Allocator),
            ("cfree", Kind::Allocator),
            ("__libc_realloc", Kind::Allocator),
            ("__rust_dealloc", Kind::Allocator),
            ("__rustc::__rdl_alloc", Kind::Allocator),
            (
                "__rustc::__rust_no_alloc_shim_is_unstable_v2",
                Kind::Allocator,
            ),
            ("cfree@GLIBC_2.2.5", Kind::Allocator),
            ("mi_malloc_aligned", Kind::Allocator),
            ("_mi_page_malloc", Kind::Allocator),
            ("sqlite3BtreeTableMoveto", Kind::Store),
            ("btreeParseCellPtr", Kind::Store),
            ("ring_core_0_17_14__gcm_ghash_clmul", Kind::Tls),
            ("pthread_mutex_lock", Kind::Other),
            ("epoll_wait", Kind::Other),
        ];
        for (symbol, kind) in cases {
            assert_eq!(kind_of("libc.so.6", symbol, false), kind, "{symbol}");
        }
        assert_eq!(
            kind_of("[kernel.kallsyms]", "memcpy_orig", true),
            Kind::Kernel
        );
        assert_eq!(
            kind_of("libcrypto.so.3", "EVP_EncryptUpdate", false),
            Kind::Tls
        );
    }

    #[test]
    fn a_report_without_samples_or_in_another_shape_is_an_error() {
        assert!(Summary::from_report("# Samples: 0\n").is_err());
        assert!(Summary::from_report(" 10.00%  [k] x\n").is_err());
    }

    #[test]
    fn hashes_only_come_off_when_they_are_hashes() {
        assert_eq!(without_hash("a::b::h0123456789abcdef"), "a::b");
        assert_eq!(without_hash("a::handle"), "a::handle");
        assert_eq!(without_hash("a::hello_world_12345"), "a::hello_world_12345");
    }
}
