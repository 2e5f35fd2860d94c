//! `dclm`: the dclm-rs command line — a thin shell over `dclm-runner` (`cargo xtask …` in a checkout runs it).

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = dclm_runner::Cli::parse();
    match dclm_runner::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
