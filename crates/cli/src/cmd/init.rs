//! `crm init`: a new warehouse with a commented configuration.

use anyhow::{Context as _, Result};

use crate::context::{Ctx, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Overwrite an existing crm.toml with the defaults.
    #[arg(long)]
    force: bool,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let wh = ctx.warehouse()?;
    if wh.local_root().is_none() {
        // Delta commits and the run lock rely on create-if-absent puts.
        wh.check_conditional_put()
            .await
            .with_context(|| format!("{} cannot hold a crm warehouse", wh.root()))?;
    }
    let existing = wh.read_file("crm.toml").await?;
    if existing.is_some() && !args.force {
        ctx.info(&format!(
            "{}crm.toml already exists; left as it is (--force rewrites it)",
            wh.root()
        ));
        return Ok(Outcome::Success);
    }
    wh.write_file(
        "crm.toml",
        crm_core::Config::commented_default().as_bytes().to_vec(),
    )
    .await
    .context("cannot write crm.toml")?;
    ctx.info(&format!(
        "initialised warehouse {} (config: crm.toml)",
        wh.root()
    ));
    Ok(Outcome::Success)
}
