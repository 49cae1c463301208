//! What the book shows of this stage, made by running it: the walk-through `cargo xtask lab 2`
//! prints, with what changes from run to run replaced by placeholders
//! (`book/src/generated/`). A change to what the stage prints fails here until the book's
//! copy is regenerated: `UPDATE_EXPECT=1 cargo test -p stage2-broken-proxy book`. Only the stage
//! crate runs these (a workshop lab's code may word things differently).

use expect_test::expect_file;
use labkit::{Lab, Result, walkthrough};

#[tokio::test]
async fn the_walkthrough_matches_the_book() -> Result<()> {
    let lab = Lab::start(&labkit::stage!(stage2_broken_proxy)).await?;
    if let Some(copy) = walkthrough::for_the_book(&lab).await? {
        expect_file!["../../../book/src/generated/walkthroughs/stage-2.txt"].assert_eq(&copy);
    }
    Ok(())
}
