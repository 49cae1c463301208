//! Lab 3's grade: stage 3's own claims, run against your code. Don't change this file.

use lab3_trust as stage_under_test;

#[path = "../../../crates/stage3-trust-proxy/tests/spoofing.rs"]
mod spoofing;
#[path = "../../../crates/stage3-trust-proxy/tests/trust_proxy.rs"]
mod trust_proxy;
