//! xtask: the dclm-rs runner — `cargo xtask baseline` and one subcommand per stage.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = xtask::Cli::parse();
    match xtask::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
