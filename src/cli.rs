//! The command line: parsing and dispatch only.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use rhai::Dynamic;

use crate::engine::{self, Limits, Sources};
use crate::output::{self, Verbosity};
use crate::params::Params;
use crate::runner::{self, RunRequest};

#[derive(Parser)]
#[command(
    name = "rigger",
    version,
    about = "Stand up etcd clusters that find their members through DNS, scripted in Rhai"
)]
pub struct Cli {
    /// More detail on stderr (-vv for trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a script: a path to a .rhai file, or the name of a bundled script.
    Run {
        /// `cluster`, `records`, ... or ./my-topology.rhai
        script: String,
        /// A script parameter, read with param("key"): a Rhai literal (3, true, "x",
        /// [1, 2]) or a bare word taken as a string.
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
        sets: Vec<(String, Dynamic)>,
        /// Stop the script after this many Rhai operations; 0 for no limit. Time spent
        /// waiting inside primitives does not count.
        #[arg(long, value_name = "N", default_value_t = Limits::default().operations)]
        max_operations: u64,
    },
    /// List every function a script can call, with its signature and documentation.
    Fns {
        /// Markdown, as in the README's reference section.
        #[arg(long)]
        markdown: bool,
    },
    /// Print a shell completion script.
    Completions { shell: Shell },
}

fn parse_set(arg: &str) -> Result<(String, Dynamic), String> {
    crate::params::parse_set(arg).map_err(|e| e.to_string())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "rigger: internal error, a bug in rigger rather than in your script: {info}\n\
             Please report it with the command you ran."
        );
    }));
    output::init(Verbosity::from_flags(cli.verbose, cli.quiet));
    ExitCode::from(match cli.command {
        Command::Run {
            script,
            sets,
            max_operations,
        } => match Params::new(sets) {
            Ok(params) => runner::run(RunRequest {
                script,
                params,
                limits: Limits {
                    operations: max_operations,
                    ..Limits::default()
                },
            }),
            Err(err) => Cli::command()
                .error(clap::error::ErrorKind::ArgumentConflict, err)
                .exit(),
        },
        Command::Fns { markdown } => fns(markdown),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "rigger", &mut std::io::stdout());
            runner::EXIT_OK
        }
    })
}

fn fns(markdown: bool) -> u8 {
    let Ok(runtime) = tokio::runtime::Runtime::new() else {
        eprintln!("error: cannot start the async runtime");
        return runner::EXIT_FAILED;
    };
    let engine = engine::build(
        &engine::Options::default(),
        &runner::idle_host(&runtime),
        &Sources::default(),
    );
    let text = if markdown {
        crate::fns::markdown(&engine)
    } else {
        crate::fns::text(&engine)
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    runner::EXIT_OK
}
