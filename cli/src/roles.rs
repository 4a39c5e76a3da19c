//! One data directory per role under the data root, so playing the driver never touches the
//! customer's cache, session or phone keys (the core keeps one account per cache, as a phone app
//! does, and starting another account's session clears the last one's data).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Who this machine plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Customer,
    Driver,
    Dealership,
}

impl Role {
    fn folder(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Driver => "driver",
            Role::Dealership => "dealership",
        }
    }

    /// The role's data directory under `root`.
    pub fn dir(self, root: &Path) -> PathBuf {
        root.join(self.folder())
    }
}

/// The default root: `$XDG_DATA_HOME/caas`, or `~/.local/share/caas`.
pub fn default_root() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("caas")
}

/// The cache file and the secrets folder a data directory holds.
const ENTRIES: [&str; 4] = ["caas.sqlite3", "caas.sqlite3-wal", "caas.sqlite3-shm", "secrets"];

/// Where a move gathers the entries before the folder takes its role's name, so a move cut short
/// (a crash, a full disk) is finished by the next run instead of leaving half a cache behind.
fn staging(root: &Path, role: Role) -> PathBuf {
    root.join(format!(".{}-moving", role.folder()))
}

/// Moves a cache kept directly in `root` (before one directory per role) into the directory of
/// the role it belongs to, so nothing an earlier version stored is lost: the session, the phone
/// keys, a driver's unsynced actions. One process moves at a time (a lock file in `root`). A role
/// that already has its own directory keeps it; the old cache then stays where it is, and every
/// run says so.
pub async fn settle_legacy(backend: &str, root: &Path) -> anyhow::Result<()> {
    let pending = [Role::Customer, Role::Driver].into_iter().find(|role| staging(root, *role).exists());
    if pending.is_none() && !ENTRIES.iter().any(|entry| root.join(entry).exists()) {
        return Ok(());
    }
    let lock = std::fs::File::create(root.join(".caas.lock")).context("creating the data folder's lock")?;
    lock.lock().context("waiting for the data folder's lock")?;
    // Another process may have moved it while this one waited.
    let pending = [Role::Customer, Role::Driver].into_iter().find(|role| staging(root, *role).exists());
    let role = match pending {
        Some(role) => role,
        None if root.join(ENTRIES[0]).exists() => {
            let core = crate::customer::open_core(backend, root.to_path_buf()).await?;
            let role = core.account_role().await?;
            drop(core);
            if role.as_deref() == Some("driver") { Role::Driver } else { Role::Customer }
        }
        None if root.join("secrets").exists() => Role::Customer,
        None => return Ok(()),
    };
    let target = role.dir(root);
    if pending.is_none() && target.exists() {
        crate::output::tell(format_args!(
            "warning: a cache of an earlier version stays in {}; the {} folder has its own, which is used",
            root.display(),
            role.folder()
        ));
        return Ok(());
    }
    let staging = staging(root, role);
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    for entry in ENTRIES {
        let from = root.join(entry);
        if from.exists() {
            std::fs::rename(&from, staging.join(entry)).with_context(|| format!("moving {}", from.display()))?;
        }
    }
    std::fs::rename(&staging, &target).with_context(|| format!("moving the cache into {}", target.display()))?;
    tracing::info!(role = role.folder(), "moved the cache into its role's directory");
    Ok(())
}
