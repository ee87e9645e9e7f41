//! The lab DNS daemon's control socket: one line in (`ping`, `reload`, `stop`), one line
//! out (`ok` or `error: ...`). A Unix socket in the state dir, so it works across network
//! namespaces and only root (the dir is 0700) can reach it.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

pub fn request(socket: &Path, command: &str) -> io::Result<()> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(format!("{command}\n").as_bytes())?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    match reply.trim() {
        "ok" => Ok(()),
        "" => Err(io::Error::other(
            "the daemon closed the connection without answering",
        )),
        other => Err(io::Error::other(
            other.trim_start_matches("error: ").to_string(),
        )),
    }
}

pub fn ping(socket: &Path) -> io::Result<()> {
    request(socket, "ping")
}

/// Whether `e` means the daemon is not there to answer (gone, dying, a stale socket),
/// as opposed to one that answered with a refusal (`error: ...`, an `Other` error).
pub fn unreachable(e: &io::Error) -> bool {
    e.kind() != io::ErrorKind::Other
}
