//! A secret read from a file named in the environment (`CLOUDFLARE_API_TOKEN_FILE`,
//! `RIGGER_TSIG_KEY_FILE`): the convention of lego and of systemd's credentials, which
//! keeps the secret out of the environment a process shows to `ps e` and `/proc`. A file
//! other users can read is warned about: the secret is theirs too.

use std::os::unix::fs::PermissionsExt;

use super::error::{Error, Result};

/// The text of the file at `path`, named by the variable `var`; a warning on stderr when
/// its mode lets anyone but its owner (and group) read it.
pub fn read(var: &str, path: &str) -> Result<String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::invalid(format!("{var}: cannot read {path}: {e}")))?;
    if meta.permissions().mode() & 0o004 != 0 {
        tracing::warn!(
            "{var}: {path} is readable by every user of this machine (mode {:o}): `chmod 600 {path}`",
            meta.permissions().mode() & 0o777
        );
    }
    std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(format!("{var}: cannot read {path}: {e}")))
}

/// The secret that either `var` (its text) or `var_FILE` (a file holding it) gives, or
/// None when neither is set; both at once is an error, as rigger will not guess.
pub fn from_env(var: &str, env: impl Fn(&str) -> Option<String>) -> Result<Option<String>> {
    let file_var = format!("{var}_FILE");
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    match (set(var), set(&file_var)) {
        (Some(_), Some(_)) => Err(Error::invalid(format!(
            "both {var} and {file_var} are set; rigger will not guess which to use"
        ))
        .with_help(format!(
            "unset one of them ({file_var} keeps the secret out of the environment)"
        ))),
        (Some(text), None) => Ok(Some(text.trim().to_string())),
        (None, Some(path)) => {
            let text = read(&file_var, &path)?;
            let text = text.trim().to_string();
            if text.is_empty() {
                return Err(Error::invalid(format!("{file_var}: {path} is empty")));
            }
            Ok(Some(text))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_comes_from_its_variable_or_its_file_never_both() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let path = file.display().to_string();
        let env = |pairs: Vec<(&'static str, String)>| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        };
        assert_eq!(
            from_env("T", env(vec![("T", "text".into())])).unwrap(),
            Some("text".into())
        );
        assert_eq!(
            from_env("T", env(vec![("T_FILE", path.clone())])).unwrap(),
            Some("from-file".into())
        );
        let both = from_env("T", env(vec![("T", "x".into()), ("T_FILE", path.clone())]));
        assert!(both.unwrap_err().message.contains("both T and T_FILE"));
        assert_eq!(from_env("T", env(vec![])).unwrap(), None);
        let missing = from_env("T", env(vec![("T_FILE", "/nonexistent/t".into())]));
        assert!(
            missing
                .unwrap_err()
                .message
                .contains("cannot read /nonexistent/t")
        );
        std::fs::write(&file, "\n").unwrap();
        let empty = from_env("T", env(vec![("T_FILE", path)]));
        assert!(empty.unwrap_err().message.contains("is empty"));
    }
}
