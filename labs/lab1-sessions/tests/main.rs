//! Lab 1's grade: stage 1's own claims, run against your code. Don't change this file.

use lab1_sessions as stage_under_test;

#[path = "../../../crates/stage1-plain-http/tests/plain_http.rs"]
mod plain_http;
