//! The stages `cargo xtask lab N` can run.

use anyhow::bail;
use labkit::Stage;

/// Stage `number`'s reference implementation.
pub fn reference(number: u8) -> anyhow::Result<Stage> {
    Ok(match number {
        1 => labkit::stage!(stage1_plain_http),
        2 => labkit::stage!(stage2_broken_proxy),
        3 => labkit::stage!(stage3_trust_proxy),
        4 => labkit::stage!(stage4_secure_store),
        _ => bail!("there is no stage {number}: the lab has stages 1 to 4"),
    })
}
