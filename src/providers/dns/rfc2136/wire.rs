//! The RFC 2136 wire protocol: DNS UPDATE signed with TSIG (RFC 8945), direct queries,
//! and BIND key files.
//!
//! Depends on hickory-proto (message model, TSIG signing), the DNS exchange (sockets),
//! base64 (key files) and thiserror.
//!
//! Transport: updates go over TCP (see [`Options`]); queries go over UDP with
//! retries and fall back to TCP when the answer is truncated, through the one DNS
//! exchange (`providers::dns::exchange`).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::providers::dns::exchange::{Failure, Tries, exchange, over_tcp, question};
use crate::providers::dns::rdata::{fqdn, rdata};
use crate::providers::{RecordData, RecordSpec};
use base64::Engine as _;
use hickory_proto::op::{Message, MessageType, OpCode, update_message};
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name, RData, Record, RecordSet, RecordType, TSigner};

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

/// HMAC algorithms this client can sign with (those hickory/ring implement).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TsigAlg {
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl TsigAlg {
    /// The name BIND uses in `algorithm ...;`.
    pub fn as_str(self) -> &'static str {
        match self {
            TsigAlg::HmacSha256 => "hmac-sha256",
            TsigAlg::HmacSha384 => "hmac-sha384",
            TsigAlg::HmacSha512 => "hmac-sha512",
        }
    }

    fn to_hickory(self) -> TsigAlgorithm {
        match self {
            TsigAlg::HmacSha256 => TsigAlgorithm::HmacSha256,
            TsigAlg::HmacSha384 => TsigAlgorithm::HmacSha384,
            TsigAlg::HmacSha512 => TsigAlgorithm::HmacSha512,
        }
    }
}

impl fmt::Display for TsigAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A TSIG key. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKey {
    /// Key name as the server knows it, without trailing dot.
    pub name: String,
    pub algorithm: TsigAlg,
    pub secret: Vec<u8>,
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &format_args!("<redacted>"))
            .finish()
    }
}

/// Why a key file could not be read. No variant ever carries the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    #[error("key file, line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("key file has no `key \"NAME\" {{ ... }};` statement")]
    NoKey,
    #[error("key file has {0} key statements; expected exactly one")]
    MultipleKeys(usize),
    #[error("key file: key name {name:?} is not a valid DNS name")]
    BadKeyName { name: String },
    #[error("key file: key {key:?} has no `algorithm` line")]
    MissingAlgorithm { key: String },
    #[error("key file: key {key:?} has no `secret` line")]
    MissingSecret { key: String },
    #[error(
        "key file: key {key:?} uses algorithm {algorithm}, which is not supported \
         (use hmac-sha256, hmac-sha384 or hmac-sha512, e.g. `tsig-keygen -a hmac-sha256 {key}`)"
    )]
    UnsupportedAlgorithm { key: String, algorithm: String },
    #[error("key file: the secret of key {key:?} is not valid base64")]
    BadSecret { key: String },
    #[error("key file: the secret of key {key:?} is empty")]
    EmptySecret { key: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Quoted(String),
    Open,
    Close,
    Semi,
}

impl Tok {
    // Token kinds only: a token's text may be (part of) the secret.
    fn describe(&self) -> &'static str {
        match self {
            Tok::Word(_) => "a word",
            Tok::Quoted(_) => "a quoted string",
            Tok::Open => "`{`",
            Tok::Close => "`}`",
            Tok::Semi => "`;`",
        }
    }
}

fn syntax(line: usize, message: impl Into<String>) -> KeyFileError {
    KeyFileError::Syntax {
        line,
        message: message.into(),
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Tok)>, KeyFileError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let start = line;
                chars.next();
                let mut prev = '\0';
                loop {
                    match chars.next() {
                        None => return Err(syntax(start, "unterminated `/*` comment")),
                        Some('/') if prev == '*' => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            prev = c;
                        }
                    }
                }
            }
            '"' => {
                let start = line;
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(syntax(start, "unterminated quoted string")),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => s.push(c),
                            None => return Err(syntax(start, "unterminated quoted string")),
                        },
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            s.push(c);
                        }
                    }
                }
                out.push((start, Tok::Quoted(s)));
            }
            '{' => out.push((line, Tok::Open)),
            '}' => out.push((line, Tok::Close)),
            ';' => out.push((line, Tok::Semi)),
            c => {
                let mut s = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || matches!(n, '{' | '}' | ';' | '"' | '#') {
                        break;
                    }
                    s.push(n);
                    chars.next();
                }
                out.push((line, Tok::Word(s)));
            }
        }
    }
    Ok(out)
}

struct Tokens {
    toks: std::vec::IntoIter<(usize, Tok)>,
    last_line: usize,
}

impl Tokens {
    fn next(&mut self) -> Option<(usize, Tok)> {
        let t = self.toks.next();
        if let Some((l, _)) = &t {
            self.last_line = *l;
        }
        t
    }

    fn expect(&mut self, want: Tok, context: &str) -> Result<(), KeyFileError> {
        match self.next() {
            Some((_, t)) if t == want => Ok(()),
            Some((l, t)) => Err(syntax(
                l,
                format!(
                    "expected {} {context}, found {}",
                    want.describe(),
                    t.describe()
                ),
            )),
            None => Err(syntax(
                self.last_line,
                format!("expected {} {context}, found end of file", want.describe()),
            )),
        }
    }

    /// A word or quoted string (BIND accepts both for names and values).
    fn value(&mut self, context: &str) -> Result<String, KeyFileError> {
        match self.next() {
            Some((_, Tok::Word(s) | Tok::Quoted(s))) => Ok(s),
            Some((l, t)) => Err(syntax(
                l,
                format!("expected a value {context}, found {}", t.describe()),
            )),
            None => Err(syntax(
                self.last_line,
                format!("expected a value {context}, found end of file"),
            )),
        }
    }
}

/// Parses the output of BIND's `tsig-keygen` (one `key` statement).
///
/// ```text
/// key "rigger" {
///     algorithm hmac-sha256;
///     secret "base64==";
/// };
/// ```
/// Comments (`#`, `//`, `/* */`) and an unquoted key name are accepted.
pub fn parse_key_file(text: &str) -> Result<TsigKey, KeyFileError> {
    let mut toks = Tokens {
        toks: tokenize(text)?.into_iter(),
        last_line: 1,
    };
    let mut keys = Vec::new();
    while let Some((line, tok)) = toks.next() {
        match tok {
            Tok::Word(w) if w.eq_ignore_ascii_case("key") => {
                keys.push(parse_key_body(&mut toks)?);
            }
            Tok::Word(w) => {
                return Err(syntax(
                    line,
                    format!("expected a `key` statement, found `{}`", clip(&w)),
                ));
            }
            t => {
                return Err(syntax(
                    line,
                    format!("expected a `key` statement, found {}", t.describe()),
                ));
            }
        }
    }
    match keys.len() {
        0 => Err(KeyFileError::NoKey),
        1 => Ok(keys.pop().expect("one key")),
        n => Err(KeyFileError::MultipleKeys(n)),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

fn parse_key_body(toks: &mut Tokens) -> Result<TsigKey, KeyFileError> {
    let raw_name = toks.value("after `key`")?;
    let name = raw_name.strip_suffix('.').unwrap_or(&raw_name).to_string();
    if name.is_empty() || Name::from_ascii(format!("{name}.")).is_err() {
        return Err(KeyFileError::BadKeyName { name: raw_name });
    }
    toks.expect(Tok::Open, "after the key name")?;
    let mut algorithm: Option<String> = None;
    let mut secret: Option<String> = None;
    loop {
        match toks.next() {
            Some((_, Tok::Close)) => break,
            Some((l, Tok::Word(field))) => {
                let f = field.to_ascii_lowercase();
                let slot = match f.as_str() {
                    "algorithm" => &mut algorithm,
                    "secret" => &mut secret,
                    _ => {
                        return Err(syntax(
                            l,
                            format!(
                                "unknown field `{}` in key {name:?} (expected `algorithm` or `secret`)",
                                clip(&field)
                            ),
                        ));
                    }
                };
                if slot.is_some() {
                    return Err(syntax(l, format!("`{f}` given twice in key {name:?}")));
                }
                *slot = Some(toks.value(&format!("after `{f}`"))?);
                toks.expect(Tok::Semi, &format!("after the {f} value"))?;
            }
            Some((l, t)) => {
                return Err(syntax(
                    l,
                    format!(
                        "expected `algorithm`, `secret` or `}}` in key {name:?}, found {}",
                        t.describe()
                    ),
                ));
            }
            None => {
                return Err(syntax(
                    toks.last_line,
                    format!("key {name:?} is missing its closing `}};`"),
                ));
            }
        }
    }
    toks.expect(Tok::Semi, "after the closing `}` of the key")?;

    let algorithm =
        algorithm.ok_or_else(|| KeyFileError::MissingAlgorithm { key: name.clone() })?;
    let algorithm = match algorithm.to_ascii_lowercase().trim_end_matches('.') {
        "hmac-sha256" => TsigAlg::HmacSha256,
        "hmac-sha384" => TsigAlg::HmacSha384,
        "hmac-sha512" => TsigAlg::HmacSha512,
        _ => {
            return Err(KeyFileError::UnsupportedAlgorithm {
                key: name,
                algorithm: clip(&algorithm),
            });
        }
    };
    let secret = secret.ok_or_else(|| KeyFileError::MissingSecret { key: name.clone() })?;
    let compact: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
    // The base64 crate's error names the offending byte, so it is not forwarded.
    let secret = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| KeyFileError::BadSecret { key: name.clone() })?;
    if secret.is_empty() {
        return Err(KeyFileError::EmptySecret { key: name });
    }
    Ok(TsigKey {
        name: name.to_ascii_lowercase(),
        algorithm,
        secret,
    })
}

// ---------------------------------------------------------------------------
// Record model (rigger's)
// ---------------------------------------------------------------------------

/// The record types [`query`] can list.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    A,
    AAAA,
    CNAME,
    TXT,
    SRV,
}

impl RecordKind {
    fn to_hickory(self) -> RecordType {
        match self {
            RecordKind::A => RecordType::A,
            RecordKind::AAAA => RecordType::AAAA,
            RecordKind::CNAME => RecordType::CNAME,
            RecordKind::TXT => RecordType::TXT,
            RecordKind::SRV => RecordType::SRV,
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// `name` (with or without trailing dot) as an absolute DNS name.
fn name_to_string(name: &Name) -> String {
    let s = name.to_lowercase().to_ascii();
    match s.strip_suffix('.') {
        Some(bare) if !bare.is_empty() => bare.to_string(),
        _ => s,
    }
}

fn to_record(spec: &RecordSpec) -> Result<Record, String> {
    let name = fqdn(&spec.name)?;
    let rdata = rdata(&spec.data)?;
    Ok(Record::from_rdata(name, spec.ttl, rdata))
}

fn from_record(record: &Record) -> Option<RecordSpec> {
    let data = match &record.data {
        RData::A(a) => RecordData::A { content: a.0 },
        RData::AAAA(a) => RecordData::AAAA { content: a.0 },
        RData::CNAME(c) => RecordData::CNAME {
            content: name_to_string(&c.0),
        },
        RData::TXT(t) => {
            // Strings are joined before decoding so a UTF-8 char split across them survives.
            let joined: Vec<u8> = t.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
            RecordData::TXT {
                content: String::from_utf8_lossy(&joined).into_owned(),
            }
        }
        RData::SRV(s) => RecordData::SRV {
            priority: s.priority,
            weight: s.weight,
            port: s.port,
            target: name_to_string(&s.target),
        },
        _ => return None,
    };
    Some(RecordSpec {
        name: name_to_string(&record.name),
        ttl: record.ttl,
        data,
        cluster: None,
    })
}

// ---------------------------------------------------------------------------
// Response codes, in BIND's words
// ---------------------------------------------------------------------------

/// A DNS RCODE; `Display` prints BIND's mnemonic (`REFUSED`, `NOTAUTH`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rcode(pub u16);

impl Rcode {
    pub const NOERROR: Rcode = Rcode(0);
    pub const SERVFAIL: Rcode = Rcode(2);
    pub const NXDOMAIN: Rcode = Rcode(3);
    pub const REFUSED: Rcode = Rcode(5);
    pub const NOTAUTH: Rcode = Rcode(9);
    pub const NOTZONE: Rcode = Rcode(10);
}

/// BIND's mnemonic for a code of IANA's one registry of DNS RCODEs: 0-10 are a
/// header's, 16-22 a TSIG record's error (16 is BADVERS in an OPT record instead), 23
/// BADCOOKIE.
fn mnemonic(code: u16) -> Option<&'static str> {
    const NAMES: [&str; 24] = [
        "NOERROR",
        "FORMERR",
        "SERVFAIL",
        "NXDOMAIN",
        "NOTIMP",
        "REFUSED",
        "YXDOMAIN",
        "YXRRSET",
        "NXRRSET",
        "NOTAUTH",
        "NOTZONE",
        "",
        "",
        "",
        "",
        "",
        "BADSIG",
        "BADKEY",
        "BADTIME",
        "BADMODE",
        "BADNAME",
        "BADALG",
        "BADTRUNC",
        "BADCOOKIE",
    ];
    NAMES
        .get(usize::from(code))
        .copied()
        .filter(|n| !n.is_empty())
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, mnemonic(self.0)) {
            // A header's RCODE 16 comes only with EDNS, where it says BADVERS.
            (16, _) => f.write_str("BADVERS"),
            (_, Some(name)) => f.write_str(name),
            (n, None) => write!(f, "RCODE{n}"),
        }
    }
}

/// The Error field of a TSIG RR (RFC 8945 §3); `Display` prints `BADSIG` etc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TsigErrorCode(pub u16);

impl TsigErrorCode {
    #[allow(dead_code)] // named for the tests
    pub const BADSIG: TsigErrorCode = TsigErrorCode(16);
    #[allow(dead_code)] // named for the tests
    pub const BADTIME: TsigErrorCode = TsigErrorCode(18);
}

impl fmt::Display for TsigErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match mnemonic(self.0).filter(|_| (16..=22).contains(&self.0)) {
            Some(name) => f.write_str(name),
            None => write!(f, "TSIG error {}", self.0),
        }
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why an update failed. `Display` quotes the server's answer in BIND's words.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// REFUSED (policy: this key may not change this name/zone), or NOTAUTH
    /// without a TSIG error (the server is not authoritative for the zone).
    #[error("{server} refused the update for {zone}: {rcode}")]
    Refused {
        server: SocketAddr,
        zone: String,
        rcode: Rcode,
    },
    /// The server rejected the signature: BADSIG (wrong secret), BADKEY
    /// (unknown key name or algorithm), BADTIME (clock skew). Rcode is NOTAUTH.
    #[error("{server} refused the update for {zone}: {rcode} (TSIG error {tsig_error})")]
    Tsig {
        server: SocketAddr,
        zone: String,
        rcode: Rcode,
        tsig_error: TsigErrorCode,
    },
    #[error(
        "{server} refused the update for {zone}: NOTZONE (a name in the update is not inside {zone})"
    )]
    NotZone { server: SocketAddr, zone: String },
    #[error("{server} failed the update for {zone}: SERVFAIL (the server's log says why)")]
    ServFail { server: SocketAddr, zone: String },
    /// Any other rcode (FORMERR, NOTIMP, YXDOMAIN, ...).
    #[error("{server} rejected the update for {zone}: {rcode}")]
    Rejected {
        server: SocketAddr,
        zone: String,
        rcode: Rcode,
    },
    #[error(
        "no answer from {server} to the update for {zone} ({attempts} attempt(s), {timeout:?} each)"
    )]
    Timeout {
        server: SocketAddr,
        zone: String,
        attempts: u32,
        timeout: Duration,
    },
    #[error("could not send the update for {zone} to {server}: {source}")]
    Io {
        server: SocketAddr,
        zone: String,
        #[source]
        source: io::Error,
    },
    /// Malformed, mismatched, unsigned or wrongly signed answer.
    #[error("bad answer from {server} to the update for {zone}: {reason}")]
    BadResponse {
        server: SocketAddr,
        zone: String,
        reason: String,
    },
    /// Rejected locally before sending.
    #[error("invalid update for {zone}: {reason}")]
    Invalid { zone: String, reason: String },
}

impl UpdateError {
    /// Whether the server refused because an RRset the update said must not exist does
    /// (YXRRSET, RFC 2136 §2.2): nothing was changed.
    pub fn is_yxrrset(&self) -> bool {
        matches!(self, UpdateError::Rejected { rcode, .. } if rcode.0 == 7)
    }
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{server} answered the {rtype} query for {name} with {rcode}")]
    Rcode {
        server: SocketAddr,
        name: String,
        rtype: String,
        rcode: Rcode,
    },
    /// NOERROR without the AA bit and without an answer (e.g. a referral).
    #[error(
        "{server} is not authoritative for {name} (answered the {rtype} query without the AA bit)"
    )]
    NotAuthoritative {
        server: SocketAddr,
        name: String,
        rtype: String,
    },
    #[error(
        "no answer from {server} to the {rtype} query for {name} ({attempts} attempt(s), {timeout:?} each)"
    )]
    Timeout {
        server: SocketAddr,
        name: String,
        rtype: String,
        attempts: u32,
        timeout: Duration,
    },
    #[error("could not query {server} for {name}: {source}")]
    Io {
        server: SocketAddr,
        name: String,
        #[source]
        source: io::Error,
    },
    #[error("bad answer from {server} to the {rtype} query for {name}: {reason}")]
    BadResponse {
        server: SocketAddr,
        name: String,
        rtype: String,
        reason: String,
    },
    #[error("invalid query: {reason}")]
    Invalid { reason: String },
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

/// How hard to try: the same for every call rigger makes.
#[derive(Debug, Clone)]
struct Options {
    /// Per attempt: connect + send + receive.
    pub timeout: Duration,
    /// Tries on timeout/IO error. Safe for updates too: adding an existing RR
    /// and deleting an absent one are both no-ops (RFC 2136 §2.5.1, §2.5.4).
    pub attempts: u32,
    /// TSIG fudge (allowed clock difference), seconds.
    pub fudge: u16,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(3),
            attempts: 3,
            fudge: 300,
        }
    }
}

// ---------------------------------------------------------------------------
// Public operations
// ---------------------------------------------------------------------------

/// What one UPDATE message does with every one of its records; the server applies the
/// message whole or not at all (RFC 2136 §3.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Adds each to its RRset, keeping the sets' other values (§2.5.1). Adding an RR
    /// that already exists is a no-op on the server.
    Add,
    /// Adds as `Add` does, on the condition that none of their RRsets exists yet
    /// (§2.4.3, "RRset does not exist", for each name and type): when one does, the
    /// server changes nothing and answers YXRRSET ([`UpdateError::is_yxrrset`]).
    AddNew,
    /// Deletes exactly these RRs, matched by name, type and rdata (§2.5.4). Deleting an
    /// RR that does not exist succeeds.
    Delete,
}

/// Non-recursive (RD=0) query straight to `server`; returns the answer RRs
/// owned by `name` of type `rtype`. NXDOMAIN and NODATA give an empty list.
pub async fn query(
    server: SocketAddr,
    name: &str,
    rtype: RecordKind,
) -> Result<Vec<RecordSpec>, QueryError> {
    let opts = &Options::default();
    let qname = fqdn(name).map_err(|reason| QueryError::Invalid { reason })?;
    let answers = raw_query(server, &qname, rtype.to_hickory(), opts)
        .await?
        .answers;
    Ok(answers
        .iter()
        .filter(|r| r.record_type() == rtype.to_hickory() && r.name == qname)
        .filter_map(from_record)
        .collect())
}

/// The zone `server` holds `name` in, in one question, as `nsupdate` finds it: the SOA
/// it gives with its answer, for the name itself when the name is an apex, or in the
/// authority section of a negative answer (RFC 2308 §3), for the apex above it. `None`
/// when the server holds no zone the name is in: it refuses to speak for it. A server
/// that answers without authority (a referral: the name is below a cut of a zone it
/// holds, delegated to other servers) is [`QueryError::NotAuthoritative`].
pub async fn zone_of(server: SocketAddr, name: &str) -> Result<Option<String>, QueryError> {
    let opts = &Options::default();
    let qname = fqdn(name).map_err(|reason| QueryError::Invalid { reason })?;
    let resp = match raw_query(server, &qname, RecordType::SOA, opts).await {
        Ok(resp) => resp,
        Err(QueryError::Rcode { rcode, .. })
            if rcode == Rcode::REFUSED || rcode == Rcode::NOTAUTH =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if !resp.metadata.authoritative {
        return Err(QueryError::NotAuthoritative {
            server,
            name: name_to_string(&qname),
            rtype: "SOA".into(),
        });
    }
    // An apex answers with its own SOA; any other name (there or not) with the SOA of
    // the zone it would be in. A SOA above anything but the name's own ancestors (a CNAME
    // followed elsewhere) says nothing about where the name is.
    let apex = resp
        .answers
        .iter()
        .chain(&resp.authorities)
        .filter(|r| matches!(r.data, RData::SOA(_)))
        .map(|r| &r.name)
        .find(|owner| owner.zone_of(&qname));
    Ok(apex.map(name_to_string))
}

// ---------------------------------------------------------------------------
// Update internals
// ---------------------------------------------------------------------------

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Sends one UPDATE of `zone`, signed with `key`, that makes `change` with every one of
/// `specs`.
pub async fn update(
    server: SocketAddr,
    zone: &str,
    key: &TsigKey,
    specs: &[RecordSpec],
    change: Change,
) -> Result<(), UpdateError> {
    let opts = &Options::default();
    let zone_label = zone.strip_suffix('.').unwrap_or(zone).to_ascii_lowercase();
    let invalid = |reason: String| UpdateError::Invalid {
        zone: zone_label.clone(),
        reason,
    };
    let zone_name = fqdn(zone).map_err(invalid)?;
    let mut records = Vec::with_capacity(specs.len());
    for spec in specs {
        let record = to_record(spec).map_err(invalid)?;
        // hickory's update builders assert this; check it ourselves to return an error.
        if !zone_name.zone_of(&record.name) {
            return Err(invalid(format!(
                "{} is not inside zone {zone_label}",
                spec.name
            )));
        }
        records.push(record);
    }
    let Some((first, rest)) = records.split_first() else {
        return Ok(());
    };
    let key_name = fqdn(&key.name).map_err(|e| invalid(format!("TSIG key name: {e}")))?;
    let signer = TSigner::new(
        key.secret.clone(),
        key.algorithm.to_hickory(),
        key_name,
        opts.fudge,
    )
    .map_err(|e| invalid(format!("TSIG key {}: {e}", key.name)))?;

    let attempts = opts.attempts.max(1);
    let mut last_io = None;
    for _ in 0..attempts {
        // Fresh ID and TSIG time per attempt.
        let rrset = RecordSet::from(first.clone());
        let mut msg = match change {
            // append(must_exist = false) is plain "add to an RRset"; create() would
            // add an "RRset must not exist" prerequisite and fail with YXRRSET.
            Change::Add | Change::AddNew => {
                update_message::append(rrset, zone_name.clone(), false, false)
            }
            Change::Delete => update_message::delete_by_rdata(rrset, zone_name.clone(), false),
        };
        // The others go in the same update section, as the builder put the first:
        // class IN to add, class NONE with TTL 0 to delete one RR (RFC 2136 §2.5).
        for record in rest {
            let mut rrset = RecordSet::from(record.clone());
            if change == Change::Delete {
                rrset.set_dns_class(hickory_proto::rr::DNSClass::NONE);
                rrset.set_ttl(0);
            }
            update_message::UpdateMessage::add_updates(&mut msg, rrset);
        }
        if change == Change::AddNew {
            let mut sets: Vec<(&Name, RecordType)> = Vec::new();
            for r in &records {
                if !sets.contains(&(&r.name, r.record_type())) {
                    sets.push((&r.name, r.record_type()));
                }
            }
            for (name, rtype) in sets {
                // Class NONE, TTL 0, no data: "this RRset does not exist".
                let mut absent = Record::update0(name.clone(), 0, rtype);
                absent.dns_class = hickory_proto::rr::DNSClass::NONE;
                update_message::UpdateMessage::add_pre_requisite(
                    &mut msg,
                    absent.into_record_of_rdata(),
                );
            }
        }
        msg.finalize(&signer, unix_now())
            .map_err(|e| invalid(format!("signing failed: {e}")))?;
        let request_mac = msg
            .signature()
            .map(|s| s.data.mac.clone())
            .unwrap_or_default();
        let bytes = msg
            .to_vec()
            .map_err(|e| invalid(format!("encoding failed: {e}")))?;
        let id = msg.metadata.id;

        match over_tcp(server, &bytes, id, opts.timeout).await {
            Err(Failure::Silent { .. }) => last_io = None,
            Err(Failure::Io { source, .. }) => last_io = Some(source),
            Ok(resp) => {
                return check_update_response(
                    server,
                    &zone_label,
                    &signer,
                    &request_mac,
                    id,
                    &resp,
                );
            }
        }
    }
    Err(match last_io {
        Some(source) => UpdateError::Io {
            server,
            zone: zone_label,
            source,
        },
        None => UpdateError::Timeout {
            server,
            zone: zone_label,
            attempts,
            timeout: opts.timeout,
        },
    })
}

fn check_update_response(
    server: SocketAddr,
    zone: &str,
    signer: &TSigner,
    request_mac: &[u8],
    id: u16,
    bytes: &[u8],
) -> Result<(), UpdateError> {
    let bad = |reason: String| UpdateError::BadResponse {
        server,
        zone: zone.to_string(),
        reason,
    };
    let resp = Message::from_vec(bytes).map_err(|e| bad(format!("undecodable: {e}")))?;
    check_header(&resp, id, OpCode::Update).map_err(bad)?;
    let rcode = Rcode(u16::from(resp.metadata.response_code));

    match resp.signature().map(|s| s.data.error) {
        // BADSIG/BADKEY answers are unsigned by design (RFC 8945 §5.2); BADTIME is
        // signed but with the server's clock, so report the error without verifying.
        Some(Some(err)) => {
            return Err(UpdateError::Tsig {
                server,
                zone: zone.to_string(),
                rcode,
                tsig_error: TsigErrorCode(u16::from(err)),
            });
        }
        Some(None) => {
            let (_, _, valid) = signer
                .verify_message_byte(bytes, Some(request_mac), true)
                .map_err(|e| {
                    bad(format!(
                        "answered {rcode} but its TSIG does not verify: {e}"
                    ))
                })?;
            let now = unix_now();
            if !valid.contains(&now) {
                return Err(bad(format!(
                    "answered {rcode} with a TSIG time outside our clock ± fudge"
                )));
            }
        }
        // An unsigned success could be forged; an unsigned failure is only reported.
        None if rcode == Rcode::NOERROR => {
            return Err(bad(
                "answered NOERROR without a TSIG signature to our signed update".into(),
            ));
        }
        None => {}
    }

    let zone = zone.to_string();
    match rcode {
        Rcode::NOERROR => Ok(()),
        Rcode::REFUSED | Rcode::NOTAUTH => Err(UpdateError::Refused {
            server,
            zone,
            rcode,
        }),
        Rcode::NOTZONE => Err(UpdateError::NotZone { server, zone }),
        Rcode::SERVFAIL => Err(UpdateError::ServFail { server, zone }),
        _ => Err(UpdateError::Rejected {
            server,
            zone,
            rcode,
        }),
    }
}

fn check_header(resp: &Message, id: u16, op: OpCode) -> Result<(), String> {
    if resp.metadata.message_type != MessageType::Response {
        return Err("the message is not a response".into());
    }
    if resp.metadata.id != id {
        return Err(format!(
            "response ID {} does not match request ID {id}",
            resp.metadata.id
        ));
    }
    if resp.metadata.op_code != op {
        return Err(format!(
            "response opcode {:?} does not match request opcode {op:?}",
            resp.metadata.op_code
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Query internals
// ---------------------------------------------------------------------------

/// The server's response to one question: NOERROR or NXDOMAIN, with an answer or the
/// server's authority.
async fn raw_query(
    server: SocketAddr,
    qname: &Name,
    rtype: RecordType,
    opts: &Options,
) -> Result<Message, QueryError> {
    let name = name_to_string(qname);
    let rtype_s = rtype.to_string();
    let bad = |reason: String| QueryError::BadResponse {
        server,
        name: name.clone(),
        rtype: rtype_s.clone(),
        reason,
    };

    let msg = question(qname.clone(), rtype, false);
    let id = msg.metadata.id;
    let bytes = msg.to_vec().map_err(|e| QueryError::Invalid {
        reason: format!("encoding failed: {e}"),
    })?;

    let tries = Tries {
        timeout: opts.timeout,
        attempts: opts.attempts,
    };
    let raw = exchange(server, &bytes, id, tries)
        .await
        .map_err(|failure| match failure {
            Failure::Silent { attempts, .. } => QueryError::Timeout {
                server,
                name: name.clone(),
                rtype: rtype_s.clone(),
                attempts,
                timeout: opts.timeout,
            },
            Failure::Io { source, .. } => QueryError::Io {
                server,
                name: name.clone(),
                source,
            },
        })?;
    let resp = Message::from_vec(&raw).map_err(|e| bad(format!("undecodable: {e}")))?;
    check_header(&resp, id, OpCode::Query).map_err(bad)?;
    let q_ok = resp
        .queries
        .first()
        .is_some_and(|q| q.name() == qname && q.query_type() == rtype);
    if !q_ok {
        return Err(bad("the question section does not match the query".into()));
    }

    let rcode = Rcode(u16::from(resp.metadata.response_code));
    match rcode {
        Rcode::NOERROR | Rcode::NXDOMAIN => {}
        _ => {
            return Err(QueryError::Rcode {
                server,
                name,
                rtype: rtype_s,
                rcode,
            });
        }
    }
    if !resp.metadata.authoritative && resp.answers.is_empty() {
        return Err(QueryError::NotAuthoritative {
            server,
            name,
            rtype: rtype_s,
        });
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const GOOD: &str = "key \"rigger-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"8xPBcO7aDO2rvLwpp9DITzOLw4LaMLX9GhoLIMFS9Mo=\";\n};\n";

    #[test]
    fn parses_keygen_output() {
        let k = parse_key_file(GOOD).unwrap();
        assert_eq!(k.name, "rigger-key");
        assert_eq!(k.algorithm, TsigAlg::HmacSha256);
        assert_eq!(k.secret.len(), 32);
    }

    #[test]
    fn debug_hides_secret() {
        let k = parse_key_file(GOOD).unwrap();
        let dbg = format!("{k:?}");
        assert!(!dbg.contains("8xPBc"), "{dbg}");
        assert!(!dbg.contains(&format!("{:?}", k.secret)), "{dbg}");
        assert!(
            dbg.contains("rigger-key") && dbg.contains("redacted"),
            "{dbg}"
        );
    }

    #[test]
    fn comments_and_unquoted_name() {
        let text = "# made by hand\n// another\n/* block\n comment */ key rk. { /* x */ algorithm \"HMAC-SHA512\"; # c\n secret \"AAEC\nAwQ=\"; };";
        let k = parse_key_file(text).unwrap();
        assert_eq!(k.name, "rk");
        assert_eq!(k.algorithm, TsigAlg::HmacSha512);
        assert_eq!(k.secret, vec![0, 1, 2, 3, 4]);
    }

    fn err(text: &str) -> String {
        let e = parse_key_file(text).unwrap_err().to_string();
        assert!(!e.contains("c2VjcmV0"), "secret leaked: {e}");
        e
    }

    #[test]
    fn malformed_inputs() {
        let two = format!("{GOOD}{GOOD}");
        // Each file, and what its error must say (every part).
        let cases: &[(&str, &[&str])] = &[
            ("", &["no `key"]),
            ("# only a comment\n", &["no `key"]),
            ("key \"k\" { algorithm hmac-sha256; };", &["no `secret`"]),
            ("key \"k\" { secret \"c2VjcmV0\"; };", &["no `algorithm`"]),
            (
                "key k { algorithm hmac-md5; secret \"c2VjcmV0\"; };",
                &["hmac-md5", "not supported"],
            ),
            (
                "key k { algorithm hmac-sha1; secret \"c2VjcmV0\"; };",
                &["not supported"],
            ),
            (
                "key k { algorithm hmac-sha256; secret \"c2Vj!!cmV0\"; };",
                &["not valid base64"],
            ),
            ("key k { algorithm hmac-sha256; secret \"\"; };", &["empty"]),
            (
                "key k { algorithm hmac-sha256; secret \"c2VjcmV0\" };",
                &["line 1", "`;`"],
            ),
            (
                "key k {\n algorithm hmac-sha256;\n secret \"c2VjcmV0\";\n",
                &["closing"],
            ),
            (
                "key k { algorithm hmac-sha256; secret \"c2VjcmV0\"; }",
                &["end of file"],
            ),
            (
                "key k { algorithm hmac-sha256; secret \"c2VjcmV0",
                &["unterminated"],
            ),
            (
                "key k { algorithm hmac-sha256; secret c2VjcmV0 c2VjcmV0; };",
                &["expected `;`"],
            ),
            (
                "key k { algorithm hmac-sha256; bogus 1; };",
                &["unknown field `bogus`"],
            ),
            ("options { };", &["`options`"]),
            (
                "key \"bad..name\" { algorithm hmac-sha256; secret \"c2VjcmV0\"; };",
                &["not a valid DNS name"],
            ),
            (&two, &["2 key statements"]),
            ("/* never closed", &["unterminated `/*`"]),
            (
                "key k {\n algorithm hmac-sha256;\n algorithm hmac-sha256; secret \"c2VjcmV0\"; };",
                &["line 3", "twice"],
            ),
        ];
        for (text, says) in cases {
            let e = err(text);
            for part in *says {
                assert!(e.contains(part), "{text:?}: {e:?} does not say {part:?}");
            }
        }
    }

    #[test]
    fn record_roundtrip() {
        let long = "x".repeat(600);
        for data in [
            RecordData::A {
                content: Ipv4Addr::new(192, 0, 2, 1),
            },
            RecordData::AAAA {
                content: "2001:db8::1".parse().unwrap(),
            },
            RecordData::CNAME {
                content: "target.bind.test".into(),
            },
            RecordData::TXT { content: long },
            RecordData::TXT {
                content: String::new(),
            },
            RecordData::SRV {
                priority: 0,
                weight: 5,
                port: 2380,
                target: "etcd-0.bind.test".into(),
            },
        ] {
            let spec = RecordSpec {
                name: "_x._tcp.bind.test".into(),
                ttl: 60,
                data,
                cluster: None,
            };
            let rec = to_record(&spec).unwrap();
            assert_eq!(from_record(&rec).unwrap(), spec);
        }
    }

    #[test]
    fn display_names() {
        assert_eq!(Rcode::NOTAUTH.to_string(), "NOTAUTH");
        assert_eq!(Rcode(12).to_string(), "RCODE12");
        assert_eq!(TsigErrorCode::BADTIME.to_string(), "BADTIME");
        let e = UpdateError::Tsig {
            server: "127.0.0.1:5353".parse().unwrap(),
            zone: "bind.test".into(),
            rcode: Rcode::NOTAUTH,
            tsig_error: TsigErrorCode::BADSIG,
        };
        assert_eq!(
            e.to_string(),
            "127.0.0.1:5353 refused the update for bind.test: NOTAUTH (TSIG error BADSIG)"
        );
    }
}
