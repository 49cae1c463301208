//! The stage's claims, one module per theme. The modules name the stage under test only as
//! `crate::stage_under_test`, so that a workshop lab compiles the very same claims against the
//! participant's crate (see `labs/`).

use stage3_trust_proxy as stage_under_test;

mod book;
mod pages;
mod production;
mod spoofing;
mod trust_proxy;
mod try_the_attack;
