//! The command line: parsing and dispatch, the commands, the REPL, and how errors look.

pub mod commands;
pub mod complete;
pub mod diagnostic;
pub mod exit;
pub mod repl;
pub mod run;
mod run_help;
pub mod signals;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use clap_complete::engine::ArgValueCompleter;
use rhai::Dynamic;

use self::run::RunRequest;
use crate::base::output::{self, Verbosity};
use crate::base::state_dir::StateDir;
use crate::primitives::params::Params;
use crate::providers::backends;
use crate::providers::opening::SshSettings;
use crate::script::Limits;
use crate::world::{WorldConfig, WorldSpec};

/// A flag whose choices are the rows of a backend table, each with its help.
fn choices(rows: impl Iterator<Item = (&'static str, &'static str)>) -> PossibleValuesParser {
    PossibleValuesParser::new(rows.map(|(name, about)| PossibleValue::new(name).help(about)))
}

fn targets() -> PossibleValuesParser {
    choices(backends::TARGETS.iter().map(|r| (r.name, r.about)))
}

fn dns_providers() -> PossibleValuesParser {
    choices(backends::DNS.iter().map(|r| (r.name, r.about)))
}

fn transports() -> PossibleValuesParser {
    choices(backends::TRANSPORTS.iter().map(|r| (r.name, r.about)))
}

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

/// The cluster a query asks and the client files it asks with (health, members, certs).
#[derive(clap::Args, Clone)]
struct ClientArgs {
    /// The domain whose _etcd-client-ssl._tcp and _etcd-client._tcp SRV records list
    /// the members to ask.
    #[arg(long, value_name = "DOMAIN", add = ArgValueCompleter::new(complete::domain))]
    discovery_srv: String,
    /// etcd's --discovery-srv-name: the cluster's records are under
    /// _etcd-client-ssl-NAME._tcp.DOMAIN (several clusters in one domain).
    #[arg(long, value_name = "NAME")]
    discovery_srv_name: Option<String>,
    /// CA certificate (default: the one rigger made for DOMAIN).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Client certificate (default: the one rigger made for DOMAIN).
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// Client key (default: the one rigger made for DOMAIN).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
}

impl ClientArgs {
    fn client(self) -> commands::health::Client {
        commands::health::Client {
            domain: self.discovery_srv,
            name: self.discovery_srv_name,
            ca: self.ca,
            cert: self.cert,
            key: self.key,
        }
    }
}

/// What a query of a live cluster is given (health, members): the cluster, the client
/// files it is asked with, how to write what it says, and its world.
#[derive(clap::Args, Clone)]
struct QueryArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The output format: rigger's lines, or etcdctl 3.5's table or JSON for the same
    /// question (`endpoint health --cluster`, `member list`).
    #[arg(short = 'w', long, value_enum, default_value = "simple")]
    write_out: WriteOut,
    #[command(flatten)]
    dns: DnsArgs,
    #[command(flatten)]
    state: StateArgs,
}

impl QueryArgs {
    /// The world asked, the cluster and its client files, and the output format.
    fn split(self) -> (WorldConfig, commands::health::Client, WriteOut) {
        let config = self.dns.config(self.state.state());
        (config, self.client.client(), self.write_out)
    }
}

/// Where rigger keeps what it created; shared by every command that touches a world.
#[derive(clap::Args, Clone)]
struct StateArgs {
    /// State directory (default: RIGGER_STATE_DIR, else /var/lib/rigger for root,
    /// ~/.local/state/rigger otherwise).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

impl StateArgs {
    /// The state dir; a path that is there but is not a folder ends the command now,
    /// for every command alike.
    fn state(&self) -> StateDir {
        let state = StateDir::locate(self.state_dir.clone());
        let root = state.root();
        if root.exists() && !root.is_dir() {
            std::process::exit(i32::from(commands::fail(
                format!("state dir {} is not a directory", root.display()),
                Some("give --state-dir (or RIGGER_STATE_DIR) a folder, or a path that does not exist yet".into()),
            )));
        }
        state
    }

    fn world(&self, world: &WorldArgs) -> WorldConfig {
        WorldConfig {
            spec: world.spec(),
            state: self.state(),
            dry_run: false,
        }
    }
}

/// Where a cluster runs and whose DNS holds its records: every command that touches a
/// world has these (`run` adds how machines are reached, below).
#[derive(clap::Args, Clone)]
struct DnsArgs {
    /// Where the cluster runs: the lab, or the cloud (its DNS is then a provider's).
    #[arg(long, value_parser = targets(), default_value = "lab")]
    target: String,
    /// Whose zone holds the records (default: the lab's server in the lab, Cloudflare
    /// on AWS); its own name servers are asked.
    #[arg(long, value_parser = dns_providers())]
    dns: Option<String>,
    /// A DNS server to ask instead of the zone's own (repeatable); for --dns rfc2136,
    /// the zone's primary, where updates go.
    #[arg(long, value_name = "IP:PORT")]
    dns_server: Vec<SocketAddr>,
    /// For --dns rfc2136 without --dns-server: the resolver asked for the zone's SOA,
    /// whose MNAME is the primary (default: this machine's, from /etc/resolv.conf; in
    /// the lab, also what lab hosts resolve through).
    #[arg(long, value_name = "IP:PORT")]
    resolver: Option<SocketAddr>,
    /// For --target hosts: the machines to use, a TOML file or an Ansible YAML
    /// inventory (README, "Your own machines").
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
}

/// Ends the command with a usage error when the flags cannot work together.
fn refuse(why: Option<String>) {
    if let Some(why) = why {
        Cli::command()
            .error(clap::error::ErrorKind::ArgumentConflict, why)
            .exit();
    }
}

/// Why a world's backends cannot work together, said as one line.
fn conflict(spec: &WorldSpec) -> Option<String> {
    let e = backends::check(
        &spec.target,
        &spec.dns,
        &spec.transport,
        &spec.dns_servers,
        spec.resolver,
        spec.inventory.as_deref(),
    )
    .err()?;
    Some(match e.help {
        Some(help) => format!("{} ({help})", e.message),
        None => e.message,
    })
}

impl DnsArgs {
    fn spec(&self) -> WorldSpec {
        // The parser only admits the table's names, so the row is there.
        let row = backends::target(&self.target).expect("a target from the table");
        WorldSpec {
            target: self.target.clone(),
            dns: self.dns.clone().unwrap_or_else(|| row.dns.to_string()),
            dns_servers: self.dns_server.clone(),
            resolver: self.resolver,
            // Absolute, so that a destroy from another folder finds it again.
            inventory: self
                .inventory
                .as_ref()
                .map(|f| std::path::absolute(f).unwrap_or(f.clone())),
            transport: row.transport.to_string(),
            ssh: SshSettings::default(),
        }
    }

    fn config(&self, state: StateDir) -> WorldConfig {
        let spec = self.spec();
        refuse(conflict(&spec));
        WorldConfig {
            spec,
            state,
            dry_run: false,
        }
    }

    /// For a command that only reads (the doctor): `--dns-server` names the servers to
    /// ask, whoever serves the zone, so it is kept out of the world's choices where the
    /// DNS provider has no use for it (the lab's own server, beside a BIND in the lab).
    fn reading(&self, state: StateDir) -> (WorldConfig, Vec<SocketAddr>) {
        let row = backends::target(&self.target).expect("a target from the table");
        let dns = self.dns.as_deref().unwrap_or(row.dns);
        let mut args = self.clone();
        if backends::dns(dns).is_ok_and(|d| d.refuses_servers.is_some()) {
            args.dns_server.clear();
        }
        (args.config(state), self.dns_server.clone())
    }
}

/// The scheme `doctor` is told the members advertise.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemeArg {
    /// TLS: https:// peer URLs, found under _etcd-server-ssl._tcp.
    Https,
    /// Plain HTTP: http:// peer URLs, found under _etcd-server._tcp.
    Http,
}

fn etcd_version(text: &str) -> Result<crate::providers::discovery::EtcdVersion, String> {
    crate::providers::discovery::EtcdVersion::parse(text)
}

/// How `health` and `members` write what they found.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOut {
    /// Lines: health's are the seed's (one per member, then the verdict), members' etcdctl's.
    Simple,
    /// etcdctl's bordered table.
    Table,
    /// etcdctl's JSON, field for field.
    Json,
}

/// Which world a script acts on.
#[derive(clap::Args, Clone)]
struct WorldArgs {
    #[command(flatten)]
    dns: DnsArgs,
    /// How commands reach the machines (default: exec in the lab, ssh in the cloud).
    #[arg(long, value_parser = transports())]
    transport: Option<String>,
    /// SSH user (default: root in the lab, admin on AWS, as Debian's AMIs use).
    #[arg(long, value_name = "USER")]
    ssh_user: Option<String>,
    /// SSH private key file (default: the agent and ~/.ssh/config).
    #[arg(long, value_name = "FILE")]
    ssh_key: Option<PathBuf>,
    /// Accept and remember a host key on first contact (StrictHostKeyChecking=accept-new).
    #[arg(long)]
    ssh_accept_new: bool,
}

impl WorldArgs {
    /// Refuses, before any script runs, a combination of world flags that cannot work
    /// (even for a script that never touches the world) and a key file that is not there.
    fn check(&self) {
        refuse(conflict(&self.spec()).or_else(|| {
            let key = self.ssh_key.as_ref()?;
            (!key.is_file()).then(|| format!("--ssh-key {}: there is no such file", key.display()))
        }));
    }

    fn spec(&self) -> WorldSpec {
        let mut spec = self.dns.spec();
        if let Some(transport) = &self.transport {
            spec.transport = transport.clone();
        }
        spec.ssh = SshSettings {
            user: self.ssh_user.clone(),
            key: self.ssh_key.clone(),
            accept_new: self.ssh_accept_new,
        };
        spec
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run a script: a path to a .rhai file, or the name of a bundled script.
    #[command(
        after_help = "A script's parameters, with their defaults: rigger scripts NAME\n\nExamples:\n  rigger run cluster --set size=5 --set domain=five.test\n  rigger run cluster --dry-run --target aws --dns cloudflare --set domain=example.com\n  rigger run ./my-topology.rhai --set 'ips=[\"10.0.0.5\"]'"
    )]
    Run {
        /// `cluster`, `records`, ... or ./my-topology.rhai
        #[arg(add = ArgValueCompleter::new(complete::script))]
        script: String,
        /// A script parameter, read with param("key"): a Rhai literal (3, true, "x",
        /// [1, 2]) or a bare word taken as a string.
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set,
              add = ArgValueCompleter::new(complete::set_key))]
        sets: Vec<(String, Dynamic)>,
        #[command(flatten)]
        world: WorldArgs,
        /// Leave what a failed run created in place instead of rolling it back.
        #[arg(long)]
        keep_on_error: bool,
        /// Print every action the script would take (machines, records, commands) and
        /// take none: no credentials, no privileges, nothing created.
        #[arg(long)]
        dry_run: bool,
        /// Stop the script after this many Rhai operations; 0 for no limit. Time spent
        /// waiting inside primitives does not count.
        #[arg(long, value_name = "N", default_value_t = Limits::default().operations, allow_negative_numbers = true)]
        max_operations: u64,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Experiment with the primitives at a prompt (line editing, history, completion).
    #[command(
        after_help = "Examples:\n  rigger repl\n  rigger repl lib/helpers.rhai --set domain=example.test"
    )]
    Repl {
        /// Scripts to load into the session first.
        files: Vec<PathBuf>,
        /// A parameter for param("key"), as with `run`.
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
        sets: Vec<(String, Dynamic)>,
        #[command(flatten)]
        world: WorldArgs,
        /// Stop a single input after this many Rhai operations; 0 for no limit.
        #[arg(long, value_name = "N", default_value_t = Limits::default().operations, allow_negative_numbers = true)]
        max_operations: u64,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Remove everything rigger created that the state directory names.
    #[command(
        after_help = "Examples:\n  rigger destroy                                   # everything, and the lab\n  rigger destroy --discovery-srv five.test         # one cluster (asks on a terminal)\n  rigger destroy --cluster example.com --target aws --dns cloudflare   # state lost"
    )]
    Destroy {
        /// With the local state lost: also remove what rigger made for the cluster of
        /// DOMAIN, found by its marks: the records marked as its in the zone holding
        /// DOMAIN (--dns), the EC2 instances tagged rigger:cluster=DOMAIN (--target aws).
        #[arg(long, value_name = "DOMAIN", value_parser = commands::lost::parse_cluster, conflicts_with = "aws_cluster_tag")]
        cluster: Option<String>,
        /// Where --cluster looks for machines: aws, for the instances tagged with it
        /// (AWS settings from the environment).
        #[arg(long, value_parser = targets(), requires = "cluster")]
        target: Option<String>,
        /// Where --cluster looks for records (default: the target's, as for `run`).
        #[arg(long, value_parser = dns_providers(), requires = "cluster")]
        dns: Option<String>,
        /// Also terminate every EC2 instance whose rigger:cluster tag is VALUE, and
        /// nothing else (the older form of --cluster VALUE --target aws, which also
        /// removes the cluster's records).
        #[arg(long, value_name = "VALUE", value_parser = clap::builder::NonEmptyStringValueParser::new())]
        aws_cluster_tag: Option<String>,
        /// Remove only the cluster of DOMAIN (what the runs that made it name), and leave
        /// the others; on a terminal it shows what it will remove and asks.
        #[arg(long, value_name = "DOMAIN", conflicts_with_all = ["cluster", "aws_cluster_tag"],
              add = ArgValueCompleter::new(complete::domain))]
        discovery_srv: Option<String>,
        /// With --discovery-srv: the cluster named NAME in that domain (etcd's
        /// --discovery-srv-name), leaving the domain's other clusters.
        #[arg(long, value_name = "NAME", requires = "discovery_srv")]
        discovery_srv_name: Option<String>,
        /// Remove without asking (needed for --discovery-srv when not on a terminal).
        #[arg(long, short = 'y', requires = "discovery_srv")]
        yes: bool,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Print the etcdctl settings (ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, ETCDCTL_CERT,
    /// ETCDCTL_KEY) that reach a cluster rigger made, as `export` lines for `eval`.
    #[command(
        after_help = "Examples:\n  eval \"$(rigger env --discovery-srv example.test)\"\n  rigger lab exec HOST -- etcdctl member list    # in the lab, where the names resolve\n  rigger env --discovery-srv example.test --json"
    )]
    Env {
        /// The cluster's discovery domain.
        #[arg(long, value_name = "DOMAIN", add = ArgValueCompleter::new(complete::domain))]
        discovery_srv: String,
        /// The cluster's name in the domain (etcd's --discovery-srv-name).
        #[arg(long, value_name = "NAME")]
        discovery_srv_name: Option<String>,
        /// One JSON object: domain, endpoints, cacert, cert, key.
        #[arg(long)]
        json: bool,
        /// The settings of the etcd user NAME that `rigger run user-add` made (its own
        /// certificate), instead of rigger's own (root's, once auth is on).
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        #[command(flatten)]
        state: StateArgs,
    },
    /// What rigger manages in the state dir: clusters, machines, records, processes and
    /// files, by run.
    #[command(
        after_help = "Examples:\n  rigger state list\n  rigger state show example.test --json"
    )]
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Report the health of the etcd cluster under a discovery domain.
    #[command(
        after_help = "Examples:\n  rigger health --discovery-srv example.test\n  rigger health --discovery-srv example.test -w table\n  rigger health --discovery-srv example.com --target aws --dns route53"
    )]
    Health {
        #[command(flatten)]
        query: QueryArgs,
        /// rigger's own report: the verdict, and each member's ID, health and detail.
        #[arg(long, conflicts_with = "write_out")]
        json: bool,
    },
    /// List the members of the etcd cluster under a discovery domain, as etcdctl's
    /// `member list` does.
    #[command(
        after_help = "Examples:\n  rigger members --discovery-srv example.test\n  rigger members --discovery-srv example.test -w table\n  rigger members --discovery-srv example.com --target aws --dns route53 -w json"
    )]
    Members {
        #[command(flatten)]
        query: QueryArgs,
    },
    /// Every certificate of a cluster, with the days each has left: the files rigger
    /// keeps (CA, members, clients) and what each member serves on its client and peer
    /// ports.
    ///
    /// Exit 4 when a certificate has expired, 3 when one ends within 30 days, a member
    /// serves something other than its file or cannot be asked, 0 otherwise.
    #[command(
        after_help = "Examples:\n  rigger certs --discovery-srv example.test\n  rigger certs --discovery-srv example.test --json"
    )]
    Certs {
        #[command(flatten)]
        client: ClientArgs,
        /// One JSON object: files and served, each with subject, SANs, serial, dates,
        /// days left and expiry.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        dns: DnsArgs,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Check a discovery domain's DNS records the way etcd will read them.
    ///
    /// Exit 4 when etcd would fail or come up short, 3 when it would start with a
    /// weakness, 0 when the zone is clean, 1 when the domain cannot be checked.
    #[command(
        after_help = "Examples:\n  rigger doctor --discovery-srv example.test\n  rigger doctor --discovery-srv example.test --etcd-version 3.4 --json\n  rigger doctor --discovery-srv example.com --dns-server 198.51.100.53:53 --target aws"
    )]
    Doctor {
        /// The domain etcd is given as --discovery-srv.
        #[arg(long, value_name = "DOMAIN", add = ArgValueCompleter::new(complete::domain))]
        discovery_srv: String,
        /// etcd's --discovery-srv-name: the suffix of the service names
        /// (_etcd-server-ssl-NAME._tcp.DOMAIN).
        #[arg(long, value_name = "NAME")]
        discovery_srv_name: Option<String>,
        /// The members' etcd release (3.4 reads only the -ssl records); default: the
        /// zone is judged for 3.4 and for 3.5 and later.
        #[arg(long, value_name = "X.Y", value_parser = etcd_version)]
        etcd_version: Option<crate::providers::discovery::EtcdVersion>,
        /// The scheme of the members' peer URLs (default: what the records imply).
        #[arg(long, value_enum)]
        scheme: Option<SchemeArg>,
        /// The port members advertise in --initial-advertise-peer-urls.
        #[arg(long, value_name = "PORT", default_value_t = crate::providers::discovery::PEER_PORT,
              value_parser = clap::value_parser!(u16).range(1..))]
        peer_port: u16,
        /// A folder of the members' certificates (NAME.crt for the target NAME.DOMAIN),
        /// checked against the records (default: those rigger made for DOMAIN).
        #[arg(long, value_name = "DIR")]
        certs: Option<PathBuf>,
        /// One JSON object: the verdict and every finding's id, severity, subject,
        /// message, evidence and fix.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        dns: DnsArgs,
        #[command(flatten)]
        state: StateArgs,
    },
    /// The local lab: hosts in network namespaces, an embedded DNS server.
    #[command(
        after_help = "Examples:\n  rigger lab status --json\n  rigger lab exec etcd-… -- dig +short SRV _etcd-server-ssl._tcp.example.test\n  rigger lab up"
    )]
    Lab {
        #[command(subcommand)]
        command: LabCommand,
    },
    /// List every function a script can call, with its signature and documentation.
    #[command(
        after_help = "Examples:\n  rigger fns\n  rigger fns wait_resolves\n  rigger fns etcd::start --json"
    )]
    Fns {
        /// Only this function (`param`, `etcd::start`): each of its signatures.
        name: Option<String>,
        /// Markdown, as in the manual's reference page (docs/reference.md).
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
        /// A JSON array: each function's name, module, params (name, type), returns,
        /// signature and doc.
        #[arg(long)]
        json: bool,
    },
    /// Write Rhai definition files (*.d.rhai) for every primitive and stdlib module, for
    /// the Rhai language server and editors (completion and signatures).
    #[command(
        after_help = "Examples:\n  rigger definitions .rhai-defs     # then point the editor's Rhai extension at it"
    )]
    Definitions {
        /// The folder to write them in (made if missing).
        dir: PathBuf,
    },
    /// Print the script that hooks rigger's completion into a shell: flags, bundled
    /// scripts, the --set keys of the script on the line, lab hosts, clusters.
    #[command(
        after_help = "Examples:\n  source <(rigger completions bash)           # in ~/.bashrc\n  rigger completions fish > ~/.config/fish/completions/rigger.fish"
    )]
    Completions { shell: Shell },
    /// Print rigger's man page (roff), or a command's.
    #[command(after_help = "Examples:\n  rigger man | man -l -\n  rigger man run > rigger-run.1")]
    Man {
        /// A command (`run`, `destroy`, ...) for its own page.
        command: Option<String>,
    },
    /// List the bundled scripts, or the parameters a script takes (read from its
    /// `param(...)` calls, without running it).
    #[command(
        after_help = "Examples:\n  rigger scripts\n  rigger scripts cluster\n  rigger scripts ./my-topology.rhai --json"
    )]
    Scripts {
        /// A bundled script's name or a path to a .rhai file.
        script: Option<String>,
        /// One JSON object (with a script) or array (without).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum StateCommand {
    /// Every run with something still standing: its world, its clusters, its resources.
    List {
        /// A JSON array of the runs.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        state: StateArgs,
    },
    /// One cluster: how to reach it (endpoints, client certificate) and what makes it up.
    Show {
        /// The cluster's discovery domain.
        #[arg(add = ArgValueCompleter::new(complete::domain))]
        domain: String,
        /// One JSON object: domain, endpoints, cacert, cert, key, runs.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        state: StateArgs,
    },
}

/// `rigger lab hosts ...`.
#[derive(Subcommand)]
enum LabHostsCommand {
    /// Make booted lab machines (systemd, sshd) outside any run, and print their
    /// inventory: `rigger lab hosts add --count 3 > hosts.toml`, then
    /// `rigger run cluster --target hosts --inventory hosts.toml --dns lab`.
    #[command(
        after_help = "Examples:\n  rigger lab hosts add --count 3 > hosts.toml\n  rigger run cluster --target hosts --inventory hosts.toml --dns lab --set release_url=...\n  rigger lab hosts remove --all"
    )]
    Add {
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=25))]
        count: u16,
        /// Their names: PREFIX-1, PREFIX-2 ... (the first numbers free).
        #[arg(long, default_value = "host")]
        prefix: String,
        /// The DNS server they resolve through (port 53 of a lab address, e.g. a BIND
        /// for --dns rfc2136); default: the lab's own.
        #[arg(long, value_name = "IP:PORT")]
        resolver: Option<SocketAddr>,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Print the inventory of the machines `add` made.
    List {
        #[command(flatten)]
        state: StateArgs,
    },
    /// Take down machines `add` made (whatever runs on them goes too).
    Remove {
        #[arg(required_unless_present = "all")]
        names: Vec<String>,
        /// Every machine `add` made.
        #[arg(long, conflicts_with = "names")]
        all: bool,
        #[command(flatten)]
        state: StateArgs,
    },
}

#[derive(Subcommand)]
enum LabCommand {
    /// Hosts, addresses, processes and zones.
    Status {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Run a command inside a lab host, with the lab's DNS (etcdctl, dig, curl).
    Exec {
        #[arg(add = ArgValueCompleter::new(complete::lab_host))]
        host: String,
        #[arg(last = true, required = true)]
        command: Vec<String>,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Bring the lab up (namespace, bridge, DNS daemon) and print its namespace, for
    /// servers of your own inside it (a BIND for --dns rfc2136, say).
    Up {
        #[command(flatten)]
        state: StateArgs,
    },
    /// Take the lab down with everything lab runs made (cloud resources are left alone).
    Down {
        #[command(flatten)]
        state: StateArgs,
    },
    /// Reboot a booted lab machine with a real `systemctl reboot` in it, or all of them
    /// at once as a power cut would (`--all`). They come back by themselves.
    Reboot {
        #[arg(add = ArgValueCompleter::new(complete::lab_host), required_unless_present = "all")]
        host: Option<String>,
        /// Every booted machine at once: every process killed, then booted again.
        #[arg(long, conflicts_with = "host")]
        all: bool,
        #[command(flatten)]
        state: StateArgs,
    },
    /// The etcd releases installed for the lab (its version ladder, which setup.sh
    /// installs in RIGGER_CACHE_DIR/etcd), oldest first: what `--set etcd_version=`
    /// may name in the lab, the newest being the default.
    Versions {
        #[arg(long)]
        json: bool,
    },
    /// Lab machines made outside any run, standing for machines of your own: their
    /// inventory is what `--target hosts --inventory FILE` takes.
    Hosts {
        #[command(subcommand)]
        command: LabHostsCommand,
    },
    /// Make the image booted lab machines start from (`launch_instance(#{boot: true})`),
    /// once: Debian 12 by debootstrap, kept in RIGGER_CACHE_DIR (default
    /// /var/cache/rigger). Prints its folder.
    Image,
    /// Serve the lab's DNS (started for you in the background; not for direct use).
    #[command(hide = true)]
    Serve {
        #[command(flatten)]
        state: StateArgs,
    },
}

fn parse_set(arg: &str) -> Result<(String, Dynamic), String> {
    crate::primitives::params::parse_set(arg).map_err(|e| e.to_string())
}

pub fn main() -> ExitCode {
    complete::answer_if_asked();
    let cli = run_help::parse(std::env::args_os().collect());
    std::panic::set_hook(Box::new(|info| {
        // Quitting at once (a second Ctrl-C) drops the runtime under threads still at
        // work; what they say then is the quit, not a bug.
        if crate::base::runtime::quitting() {
            return;
        }
        output::to_stderr(&format!(
            "rigger: internal error, a bug in rigger rather than in your script: {info}\n\
             Please report it with the command you ran.\n"
        ));
    }));
    // The REPL's line editor owns the terminal: a live view redrawing beside it garbles
    // the line being typed, so the REPL logs plain lines.
    let live = !matches!(cli.command, Command::Repl { .. });
    output::init(Verbosity::from_flags(cli.verbose, cli.quiet), live);
    ExitCode::from(match cli.command {
        Command::Run {
            script,
            sets,
            world,
            keep_on_error,
            dry_run,
            max_operations,
            state,
        } => match Params::new(sets).inspect(|_| world.check()) {
            Ok(params) => run::run(RunRequest {
                script,
                params,
                limits: Limits {
                    operations: max_operations,
                    ..Limits::default()
                },
                world: Some(WorldConfig {
                    dry_run,
                    ..state.world(&world)
                }),
                keep_on_error,
            }),
            Err(err) => Cli::command()
                .error(clap::error::ErrorKind::ArgumentConflict, err)
                .exit(),
        },
        Command::Repl {
            files,
            sets,
            world,
            max_operations,
            state,
        } => match Params::new(sets).inspect(|_| world.check()) {
            Ok(params) => repl::run(repl::ReplRequest {
                params,
                world: state.world(&world),
                files,
                limits: Limits {
                    operations: max_operations,
                    ..Limits::default()
                },
            }),
            Err(err) => Cli::command()
                .error(clap::error::ErrorKind::ArgumentConflict, err)
                .exit(),
        },
        Command::Destroy {
            discovery_srv: Some(domain),
            discovery_srv_name,
            yes,
            state,
            ..
        } => match commands::cluster_key(&domain, discovery_srv_name.as_deref()) {
            Ok(key) => commands::destroy_cluster::destroy_cluster(&state.state(), &key, yes),
            Err(status) => status,
        },
        Command::Destroy {
            cluster,
            target,
            dns,
            aws_cluster_tag,
            state,
            ..
        } => match commands::lost::Lost::from_flags(
            cluster.as_deref(),
            target.as_deref(),
            dns.as_deref(),
            aws_cluster_tag.as_deref(),
        ) {
            Ok(lost) => commands::destroy::destroy(
                &state.state(),
                lost.as_ref(),
                commands::destroy::Scope::All,
            ),
            Err(why) => Cli::command()
                .error(clap::error::ErrorKind::ArgumentConflict, why)
                .exit(),
        },
        Command::Health { query, json } => {
            let (config, client, write_out) = query.split();
            let args = commands::health::HealthArgs {
                client,
                write_out,
                json,
            };
            commands::health::health(&config, args)
        }
        Command::Certs {
            client,
            json,
            dns,
            state,
        } => {
            let config = dns.config(state.state());
            let client = client.client();
            commands::certs::certs(&config, commands::certs::CertsArgs { client, json })
        }
        Command::Members { query } => {
            let (config, client, write_out) = query.split();
            let args = commands::members::MembersArgs { client, write_out };
            commands::members::members(&config, args)
        }
        Command::Doctor {
            discovery_srv,
            discovery_srv_name,
            etcd_version,
            scheme,
            peer_port,
            certs,
            json,
            dns,
            state,
        } => {
            let (config, servers) = dns.reading(state.state());
            let mut check = crate::providers::discovery::DiscoveryCheck::new(&discovery_srv);
            check.service_name = discovery_srv_name;
            check.version = etcd_version;
            check.scheme = scheme.map(|s| match s {
                SchemeArg::Https => crate::providers::discovery::Scheme::Https,
                SchemeArg::Http => crate::providers::discovery::Scheme::Http,
            });
            check.peer_port = peer_port;
            check.certs = certs;
            check.servers = servers;
            commands::doctor::doctor(&config, commands::doctor::DoctorArgs { check, json })
        }
        Command::Lab { command } => match command {
            LabCommand::Hosts { command } => lab_hosts(command),
            LabCommand::Status { json, state } => commands::lab::status(&state.state(), json),
            LabCommand::Exec {
                host,
                command,
                state,
            } => commands::lab::exec(&state.state(), &host, &command),
            LabCommand::Up { state } => commands::lab::up(&state.state()),
            LabCommand::Down { state } => {
                commands::destroy::destroy(&state.state(), None, commands::destroy::Scope::Lab)
            }
            LabCommand::Serve { state } => commands::lab::serve(&state.state()),
            LabCommand::Image => commands::lab::image(),
            LabCommand::Versions { json } => commands::lab::versions(json),
            LabCommand::Reboot {
                host,
                all: _,
                state,
            } => commands::lab::reboot(&state.state(), host.as_deref()),
        },
        Command::Env {
            discovery_srv,
            discovery_srv_name,
            json,
            user,
            state,
        } => match commands::cluster_key(&discovery_srv, discovery_srv_name.as_deref()) {
            Ok(key) => commands::env::env(&state.state(), &key, json, user.as_deref()),
            Err(status) => status,
        },
        Command::State { command } => match command {
            StateCommand::List { json, state } => commands::state::list(&state.state(), json),
            StateCommand::Show {
                domain,
                json,
                state,
            } => commands::state::show(&state.state(), &domain, json),
        },
        Command::Fns {
            name,
            markdown,
            json,
        } => {
            use commands::fns::Format;
            let format = match (markdown, json) {
                (true, _) => Format::Markdown,
                (_, true) => Format::Json,
                _ => Format::Text,
            };
            commands::fns::fns(name.as_deref(), format)
        }
        Command::Definitions { dir } => commands::definitions::definitions(&dir),
        Command::Scripts { script, json } => match script {
            Some(name) => commands::scripts::show(&name, json),
            None => commands::scripts::list(json),
        },
        Command::Completions { shell } => complete::registration(&shell.to_string()),
        Command::Man { command } => commands::man::man(Cli::command(), command.as_deref()),
    })
}

/// `rigger lab hosts ...`.
fn lab_hosts(command: LabHostsCommand) -> u8 {
    match command {
        LabHostsCommand::Add {
            count,
            prefix,
            resolver,
            state,
        } => commands::lab_hosts::add(&state.state(), &prefix, count.into(), resolver),
        LabHostsCommand::List { state } => commands::lab_hosts::list(&state.state()),
        LabHostsCommand::Remove {
            names,
            all: _,
            state,
        } => commands::lab_hosts::remove(&state.state(), &names),
    }
}
