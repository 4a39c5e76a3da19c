//! Where the core keeps secrets (the session token; later the device's keys): never in the SQLite
//! cache. The shells implement [`SecretStore`] over Keystore / Keychain; the CLI and tests use the
//! file store.

use std::fs;
use std::io::Write as _;
use std::path::PathBuf;

use crate::error::{CaasError, Result};

/// A small key-value store for secrets.
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    fn get(&self, key: &str) -> Result<Option<String>>;
    fn set(&self, key: &str, value: &str) -> Result<()>;
    fn delete(&self, key: &str) -> Result<()>;
}

/// One file per secret in a directory only the owner can read (0700, files 0600).
#[derive(Debug, Clone)]
pub struct FileSecretStore {
    dir: PathBuf,
}

impl FileSecretStore {
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| CaasError::Secrets(format!("creating {}: {e}", dir.display()).into()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(|e| CaasError::Secrets(e.into()))?;
        }
        Ok(Self { dir })
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        let valid = !key.is_empty()
            && key.len() <= 64
            && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            && !key.starts_with('.');
        if valid {
            Ok(self.dir.join(key))
        } else {
            Err(CaasError::Secrets(format!("invalid secret name `{key}`").into()))
        }
    }
}

impl SecretStore for FileSecretStore {
    fn get(&self, key: &str) -> Result<Option<String>> {
        match fs::read_to_string(self.path(key)?) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CaasError::Secrets(e.into())),
        }
    }

    /// Writes a temporary file with owner-only permissions and renames it over the old one, so a
    /// crash never leaves a half-written secret.
    fn set(&self, key: &str, value: &str) -> Result<()> {
        let path = self.path(key)?;
        let tmp = self.dir.join(format!(".{key}.tmp"));
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let write = || -> std::io::Result<()> {
            let mut file = options.open(&tmp)?;
            file.write_all(value.as_bytes())?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| CaasError::Secrets(e.into()))
    }

    fn delete(&self, key: &str) -> Result<()> {
        match fs::remove_file(self.path(key)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CaasError::Secrets(e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_reads_and_deletes_with_owner_only_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileSecretStore::new(dir.path().join("secrets")).expect("store");
        assert_eq!(store.get("session").expect("get"), None);
        store.set("session", "cust_abc").expect("set");
        assert_eq!(store.get("session").expect("get").as_deref(), Some("cust_abc"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.path().join("secrets/session")).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store.delete("session").expect("delete");
        assert_eq!(store.get("session").expect("get"), None);
    }

    #[test]
    fn refuses_names_that_escape_the_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileSecretStore::new(dir.path()).expect("store");
        for bad in ["../x", "a/b", "", ".hidden"] {
            assert!(store.set(bad, "v").is_err(), "{bad}");
        }
    }
}
