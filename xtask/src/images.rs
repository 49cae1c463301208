//! `cargo xtask images`: build the offline images ahead of time (tests build them on demand).

use std::process::ExitCode;

use labkit::images::{self, ImageSpec};

pub async fn run() -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for spec in [&images::NGINX, &images::REDIS] {
        failed |= !build(spec).await;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn build(spec: &ImageSpec) -> bool {
    match images::build_offline(spec).await {
        Ok(image) => {
            println!("{}: {image}", spec.what);
            true
        }
        Err(error) => {
            eprintln!("{}: {error}", spec.what);
            false
        }
    }
}
