//! The stages `cargo xtask lab N` can run.

use anyhow::bail;
use labkit::Stage;

/// The participant's code for stage `number`: the workshop lab crate.
pub fn exercise(number: u8) -> anyhow::Result<Stage> {
    Ok(match number {
        1 => labkit::stage!(lab1_sessions),
        2 => labkit::stage!(lab2_nginx),
        3 => labkit::stage!(lab3_trust),
        4 => labkit::stage!(lab4_hardening),
        5 => labkit::stage!(lab5_identity),
        _ => bail!("there is no lab {number}: the labs are 1 to 5"),
    })
}

/// Stage `number`'s reference implementation.
pub fn reference(number: u8) -> anyhow::Result<Stage> {
    Ok(match number {
        1 => labkit::stage!(stage1_plain_http),
        2 => labkit::stage!(stage2_broken_proxy),
        3 => labkit::stage!(stage3_trust_proxy),
        4 => labkit::stage!(stage4_secure_store),
        5 => labkit::stage!(stage5_mutual_tls),
        _ => bail!("there is no stage {number}: the lab has stages 1 to 5"),
    })
}
