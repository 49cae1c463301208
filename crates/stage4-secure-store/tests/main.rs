//! The stage's claims, one module per theme. The modules name the stage under test only as
//! `crate::stage_under_test`, so that a workshop lab compiles the very same claims against the
//! participant's crate (see `labs/`).

use stage4_secure_store as stage_under_test;

mod attacks;
mod book;
mod common;
mod demos;
mod edge;
mod hardening;
mod outage;
mod pages;
mod replicas;
mod store;
mod try_the_attack;
