use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = gatehouse::cli::Cli::parse();
    gatehouse::app::run(cli).into()
}
