//! Lab 2's grade: stage 2's own claims, and what lab 2 asks of your nginx.conf besides, run
//! against your code. Don't change this file.

use lab2_nginx as stage_under_test;

#[path = "../../../crates/stage2-broken-proxy/tests/broken_proxy.rs"]
mod broken_proxy;
mod edge_config;
