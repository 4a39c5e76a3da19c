//! The customer's commands against a running platform.

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use caas_core::{Caas, CaasConfig, CaasError, FileSecretStore};
use futures_util::StreamExt as _;
use uuid::Uuid;

use crate::render;

pub struct App {
    pub backend: String,
    pub data_dir: PathBuf,
}

/// Opens the core on `data_dir`, with secrets in a private folder beside the cache.
pub async fn open_core(backend: &str, data_dir: PathBuf) -> anyhow::Result<Caas> {
    let secrets = Arc::new(FileSecretStore::new(data_dir.join("secrets"))?);
    Ok(Caas::open(CaasConfig { backend_url: backend.to_owned(), data_dir }, secrets).await?)
}

/// Explains the errors a person can do something about.
pub fn explain(error: CaasError) -> anyhow::Error {
    match error {
        CaasError::Unauthorized => anyhow::anyhow!("not signed in (or the session expired): run `caas sign-in EMAIL`"),
        other => other.into(),
    }
}

impl App {
    pub async fn core(&self) -> anyhow::Result<Caas> {
        open_core(&self.backend, self.data_dir.clone()).await
    }

    pub async fn sign_in(&self, email: &str, code: Option<String>) -> anyhow::Result<()> {
        let core = self.core().await?;
        let code = match code {
            Some(code) => code,
            None => {
                core.request_sign_in_code(email).await?;
                print!("A sign-in code was emailed to {email}. Code: ");
                std::io::stdout().flush()?;
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("reading the code")?;
                line.trim().to_owned()
            }
        };
        let customer = core.sign_in(email, &code).await.map_err(|e| match e {
            CaasError::Unauthorized => anyhow::anyhow!("that code is wrong or has expired; ask for a new one"),
            other => other.into(),
        })?;
        let report = core.sync().await.map_err(explain)?;
        println!("Signed in as customer {customer}; {} order(s).", report.orders);
        Ok(())
    }

    pub async fn sign_out(&self) -> anyhow::Result<()> {
        self.core().await?.sign_out().await.map_err(explain)?;
        println!("Signed out: the session ended, this device's phone keys were revoked and the cached orders removed.");
        Ok(())
    }

    pub async fn revoke_key(&self, order: Uuid, grant: Uuid) -> anyhow::Result<()> {
        self.core().await?.revoke_phone_key(order, grant).await.map_err(explain)?;
        println!("Phone key {grant} revoked: the car refuses it from its next command.");
        Ok(())
    }

    pub async fn sync(&self) -> anyhow::Result<()> {
        let report = self.core().await?.sync().await.map_err(explain)?;
        println!("{} order(s), {} new event(s).", report.orders, report.new_events);
        Ok(())
    }

    /// Syncs when possible; offline, says so and carries on with the cache.
    async fn synced_core(&self) -> anyhow::Result<Caas> {
        let core = self.core().await?;
        match core.sync().await {
            Ok(_) => {}
            Err(error) if error.is_unreachable() => eprintln!("{}: showing the cached state", error.chain()),
            Err(error) => return Err(explain(error)),
        }
        Ok(core)
    }

    pub async fn orders(&self, json: bool) -> anyhow::Result<()> {
        let orders = self.synced_core().await?.orders().await?;
        if json {
            println!("{}", serde_json::Value::Array(orders.iter().map(render::summary_json).collect()));
        } else if orders.is_empty() {
            println!("No orders yet.");
        } else {
            for order in &orders {
                println!("{}", render::summary_line(order));
            }
        }
        Ok(())
    }

    pub async fn timeline(&self, order: Uuid, json: bool) -> anyhow::Result<()> {
        let order = self.synced_core().await?.order(order).await.map_err(explain)?;
        if json {
            println!("{}", render::detail_json(&order));
        } else {
            print!("{}", render::timeline_text(&order));
        }
        Ok(())
    }

    pub async fn watch(&self) -> anyhow::Result<()> {
        let core = self.synced_core().await?;
        let mut pushes = std::pin::pin!(core.push_updates());
        let stream = core.connect_push_stream().await.map_err(explain)?;
        println!("Watching pushes on device {} (Ctrl-C to stop).", stream.device_id());
        loop {
            let (hint, outcome) = tokio::select! {
                push = pushes.next() => match push {
                    Some(push) => push,
                    None => return Ok(()),
                },
                stop = tokio::signal::ctrl_c() => return Ok(stop?),
            };
            let state = core.order(hint.order_id).await.map(|o| o.summary.state.wire_name());
            println!(
                "push {} v{} {} -> {:?}; order now {}",
                hint.order_id,
                hint.order_version,
                hint.kind,
                outcome,
                state.unwrap_or("unknown")
            );
        }
    }
}
