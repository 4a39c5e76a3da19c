//! `caas record`: an order's purchase record as evidence: exported from this machine's cache with
//! the platform's signature, and checked offline with only the platform's public key.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::Context as _;
use caas_core::protocol::record::{MAX_RECORD_BYTES, RecordExport, RecordKey};
use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;

use crate::customer::{App, explain};

#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Write an order's record, signed by the platform, to FILE (or print it). Works offline once
    /// the order is synced.
    Export {
        order: Uuid,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check a record offline: every event follows from the one before it and the platform signed
    /// the last one.
    Verify {
        file: PathBuf,
        /// The platform's public key (base64url); by default, the one this machine pinned at its
        /// first sync.
        #[arg(long)]
        key: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

impl App {
    pub async fn record(&self, command: RecordCommand) -> anyhow::Result<()> {
        match command {
            RecordCommand::Export { order, out } => {
                let record = self.core().await?.export_record(order).await.map_err(explain)?.to_json();
                match out {
                    Some(path) => {
                        std::fs::write(&path, record + "\n").with_context(|| format!("writing {}", path.display()))?;
                        eprintln!("Wrote the record of order {order} to {}.", path.display());
                    }
                    None => println!("{record}"),
                }
            }
            RecordCommand::Verify { file, key, json } => {
                let key = match key {
                    Some(key) => RecordKey::from_public_key(key.trim())?,
                    None => self
                        .core()
                        .await?
                        .pinned_record_key()
                        .await?
                        .context("this machine has not synced with the platform: give its public key with --key")?,
                };
                // Read to one byte past the limit, whatever the file is (a pipe says nothing of its size).
                let mut text = String::new();
                std::fs::File::open(&file)
                    .and_then(|f| f.take(MAX_RECORD_BYTES as u64 + 1).read_to_string(&mut text))
                    .with_context(|| format!("reading {}", file.display()))?;
                anyhow::ensure!(
                    text.len() <= MAX_RECORD_BYTES,
                    "{} is larger than any purchase record",
                    file.display()
                );
                let verified = RecordExport::from_json(&text).and_then(|record| record.verify(&key));
                match (verified, json) {
                    (Ok(record), true) => println!(
                        "{}",
                        json!({ "valid": true, "order_id": record.order_id, "events": record.events,
                                "head": record.head.to_text(), "key_id": key.key_id })
                    ),
                    (Ok(record), false) => println!(
                        "Valid: the record of order {} holds {} events, each following from the one before, \
                         signed by the platform's key {}.",
                        record.order_id, record.events, key.key_id
                    ),
                    (Err(error), json) => {
                        if json {
                            println!("{}", json!({ "valid": false, "reason": error.to_string() }));
                        }
                        anyhow::bail!("not valid: {error}")
                    }
                }
            }
        }
        Ok(())
    }
}
