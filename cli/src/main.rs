use std::process::ExitCode;

use clap::Parser as _;
use m365_inline::{Cli, Outcome, run};

#[tokio::main]
async fn main() -> ExitCode {
    let mut out = std::io::stdout();
    match run(Cli::parse(), &mut out, None).await {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::TaskFailed) => ExitCode::from(3),
        Err(err) => {
            eprintln!("m365-inline: {err}");
            ExitCode::FAILURE
        }
    }
}
