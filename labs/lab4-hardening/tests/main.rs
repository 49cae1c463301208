//! Lab 4's grade: stage 4's own claims about sessions, outages, replicas and the edge, run
//! against your code. Don't change this file.

use lab4_hardening as stage_under_test;

#[path = "../../../crates/stage4-secure-store/tests/attacks.rs"]
mod attacks;
#[path = "../../../crates/stage4-secure-store/tests/common/mod.rs"]
mod common;
#[path = "../../../crates/stage4-secure-store/tests/edge.rs"]
mod edge;
#[path = "../../../crates/stage4-secure-store/tests/hardening.rs"]
mod hardening;
#[path = "../../../crates/stage4-secure-store/tests/outage.rs"]
mod outage;
#[path = "../../../crates/stage4-secure-store/tests/replicas.rs"]
mod replicas;
