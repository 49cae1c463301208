//! What the book shows of this stage, made by running it: the walk-through `cargo xtask lab 4`
//! prints, with what changes from run to run replaced by placeholders
//! (`book/src/generated/`). A change to what the stage prints fails here until the book's
//! copy is regenerated: `UPDATE_EXPECT=1 cargo test -p stage4-secure-store book`. Only the stage
//! crate runs these (a workshop lab's code may word things differently).

use expect_test::expect_file;
use labkit::{Lab, LabOptions, Result, walkthrough};

#[tokio::test]
async fn the_walkthrough_matches_the_book() -> Result<()> {
    let (_dir, store) = labkit::temporary_sqlite_store();
    let options = LabOptions {
        session_store: Some(store),
        ..LabOptions::from_env()?
    };
    let lab = Lab::start_with(&labkit::stage!(stage4_secure_store), options).await?;
    if let Some(copy) = walkthrough::for_the_book(&lab).await? {
        expect_file!["../../../book/src/generated/walkthroughs/stage-4.txt"].assert_eq(&copy);
    }
    Ok(())
}
