//! `rigger env --discovery-srv DOMAIN [--user NAME]`: the etcdctl settings that reach a
//! cluster rigger made (with rigger's own certificate, or a user's), as shell `export`
//! lines to `eval`, or as JSON.

use super::access::Env;
use crate::base::state_dir::StateDir;
use crate::cli::exit;
use crate::world::inventory::{self, Access};

/// `domain`: the cluster's key, checked (`super::cluster_key`).
pub fn env(state: &StateDir, domain: &str, json: bool, user: Option<&str>) -> u8 {
    let domain = domain.to_string();
    let mut access = match cluster_access(state, &domain) {
        Ok(a) => a,
        Err(status) => return status,
    };
    if let Some(user) = user {
        let pki = state.root().join("pki").join(&domain);
        let name = format!("user-{user}");
        let (cert, key) = (
            pki.join(format!("{name}.crt")),
            pki.join(format!("{name}.key")),
        );
        let plain = user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c));
        if !plain || !cert.exists() || !key.exists() {
            return super::fail(
                format!(
                    "rigger gave no etcd user {user:?} of {domain} a certificate ({} is not there)",
                    cert.display()
                ),
                Some(format!(
                    "`rigger run user-add {} --set user={user} --set prefix=...` makes one",
                    super::script_flags(&domain)
                )),
            );
        }
        access.cert = Some(cert);
        access.key = Some(key);
    }
    let env = Env::of(&domain, &access);
    if json {
        crate::base::output::data(&super::json_text(&env));
        return exit::OK;
    }
    let mut out = format!(
        "export ETCDCTL_ENDPOINTS={}\n",
        shell_quote(&env.endpoints.join(","))
    );
    for (name, value) in [
        ("ETCDCTL_CACERT", &env.cacert),
        ("ETCDCTL_CERT", &env.cert),
        ("ETCDCTL_KEY", &env.key),
    ] {
        if let Some(value) = value {
            out.push_str(&format!("export {name}={}\n", shell_quote(value)));
        }
    }
    crate::base::output::data(&out);
    exit::OK
}

/// How to reach the cluster of `domain`, or the failure status after saying why: no
/// cluster of that name in the state, or one without client records.
pub fn cluster_access(state: &StateDir, domain: &str) -> Result<Access, u8> {
    let runs = super::state::read_runs(state)?;
    let mine = inventory::of_cluster(&runs, domain);
    if mine.is_empty() {
        return Err(super::state::no_cluster(state, domain, &runs));
    }
    let access = inventory::access(domain, &mine, state);
    if access.endpoints.is_empty() {
        return Err(super::fail(
            format!("the cluster of {domain} has no client SRV records in the state"),
            Some(format!(
                "`rigger state show {domain}` lists what rigger made for it"
            )),
        ));
    }
    if access.endpoints.iter().any(|e| e.starts_with("https://"))
        && (access.cacert.is_none() || access.cert.is_none() || access.key.is_none())
    {
        tracing::warn!(
            "the cluster of {domain} speaks TLS but its client certificate is not in {}",
            state.root().join("pki").join(domain).display()
        );
    }
    Ok(access)
}

/// `text` as one shell word: as it is when that is safe, else in single quotes.
fn shell_quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/.,:_-+=@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn words_are_quoted_only_when_the_shell_would_split_them() {
        assert_eq!(
            shell_quote("https://a.test:2379,https://b.test:2379"),
            "https://a.test:2379,https://b.test:2379"
        );
        assert_eq!(
            shell_quote("/tmp/my state/ca.crt"),
            "'/tmp/my state/ca.crt'"
        );
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
