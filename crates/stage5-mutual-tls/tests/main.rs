//! The stage's claims, one module per theme (see stage 1's for why the modules name the stage
//! only as `crate::stage_under_test`).

use stage5_mutual_tls as stage_under_test;

mod book;
mod mutual_tls;
