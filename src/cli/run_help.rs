//! `rigger run SCRIPT --help`: the command's help, and then the parameters of the script
//! named (a bundled name or a path), read from it as `rigger scripts SCRIPT` lists them.
//! clap answers `--help` before any argument is seen, so the help is intercepted.

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser};

use super::commands::scripts;
use super::{Cli, Command};

/// The command line, parsed; its errors and help end the process as clap's do.
pub fn parse(args: Vec<OsString>) -> Cli {
    let help = match Cli::try_parse_from(&args) {
        Ok(cli) => return cli,
        Err(e) if e.kind() == ErrorKind::DisplayHelp => e,
        Err(e) => e.exit(),
    };
    let Some(text) = script_named(&args).and_then(|name| scripts::run_help(&name)) else {
        help.exit()
    };
    let command = Cli::command().mut_subcommand("run", |run| {
        let after = run
            .get_after_help()
            .map(ToString::to_string)
            .unwrap_or_default();
        run.after_help(format!("{text}\n{after}"))
    });
    // The same arguments ask for the same help, now with the script's part.
    match command.try_get_matches_from(&args) {
        Err(e) => e.exit(),
        Ok(matches) => Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit()),
    }
}

/// The script a `run` command line names, read as if it did not ask for help.
fn script_named(args: &[OsString]) -> Option<String> {
    let rest = args.iter().filter(|a| *a != "--help" && *a != "-h");
    match Cli::try_parse_from(rest).ok()?.command {
        Command::Run { script, .. } => Some(script),
        _ => None,
    }
}
