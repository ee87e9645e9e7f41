//! `rigger man [COMMAND]`: the man page, generated from the command line's own
//! definition (clap_mangen), so it says what `--help` says.

use crate::cli::exit;

pub fn man(cli: clap::Command, command: Option<&str>) -> u8 {
    let page = match command {
        None => cli,
        Some(name) => match cli.find_subcommand(name) {
            Some(sub) => sub.clone().name(format!("rigger-{name}")),
            None => {
                let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
                return super::fail(
                    format!("rigger has no command {name:?}"),
                    Some(format!("commands: {}", names.join(", "))),
                );
            }
        },
    };
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(page).render(&mut out) {
        return super::fail(format!("cannot write the man page: {e}"), None);
    }
    crate::base::output::data(&String::from_utf8_lossy(&out));
    exit::OK
}
