//! xtask: the dclm-rs runner — `cargo xtask baseline` and one subcommand per stage.

use anyhow::Result;
use clap::{Parser, Subcommand};

/// dclm-rs: the DataComp-LM pipeline in Rust.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    // Stage subcommands: one variant per stage, each with its own Args struct in its own module.
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {}
}
