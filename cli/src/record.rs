//! `caas record`: an order's purchase record as evidence: exported from this machine's cache with
//! the platform's signature, and checked offline with only the platform's public key.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::Context as _;
use caas_core::protocol::record::{MAX_RECORD_BYTES, RecordExport, RecordKey};
use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;

use crate::App;
use crate::failure::Failure;
use crate::output::Output;

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
    },
}

impl App {
    pub async fn record(&self, command: RecordCommand) -> anyhow::Result<Output> {
        match command {
            RecordCommand::Export { order, out } => {
                let record = self.core().await?.export_record(order).await?.to_json();
                match out {
                    Some(path) => {
                        std::fs::write(&path, record + "\n").with_context(|| format!("writing {}", path.display()))?;
                        Ok(Output::new(
                            format!("Wrote the record of order {order} to {}.", path.display()),
                            json!({ "order_id": order, "file": path }),
                        ))
                    }
                    None => {
                        let value: serde_json::Value = serde_json::from_str(&record)?;
                        Ok(Output::new(record, value))
                    }
                }
            }
            RecordCommand::Verify { file, key } => {
                let key = match key {
                    Some(key) => RecordKey::from_public_key(key.trim()).map_err(|e| {
                        Failure::usage(format!("--key is not a platform key: {e}"))
                            .with_fix("give the key as the platform publishes it (`/v1/record/key`)")
                    })?,
                    None => self.core().await?.pinned_record_key().await?.ok_or_else(|| {
                        Failure::usage("this machine has not synced with the platform")
                            .with_fix("give the platform's public key with --key")
                    })?,
                };
                // Read to one byte past the limit, whatever the file is (a pipe says nothing of its size).
                let mut text = String::new();
                std::fs::File::open(&file)
                    .and_then(|f| f.take(MAX_RECORD_BYTES as u64 + 1).read_to_string(&mut text))
                    .map_err(|e| {
                        Failure::usage(format!("reading {}: {e}", file.display()))
                            .with_fix("give the path of a record `caas record export` wrote")
                    })?;
                if text.len() > MAX_RECORD_BYTES {
                    return Err(Failure::refused(
                        "record_invalid",
                        format!("{} is larger than any purchase record", file.display()),
                    )
                    .with_fix("give the path of a record `caas record export` wrote")
                    .into());
                }
                let record =
                    RecordExport::from_json(&text).and_then(|record| record.verify(&key)).map_err(|error| {
                        Failure::refused("record_invalid", format!("not valid: {error}"))
                            .with_fix("this file is not the platform's record as it signed it")
                    })?;
                Ok(Output::new(
                    format!(
                        "Valid: the record of order {} holds {} events, each following from the one before, \
                         signed by the platform's key {}.",
                        record.order_id, record.events, key.key_id
                    ),
                    json!({ "valid": true, "order_id": record.order_id, "events": record.events,
                            "head": record.head.to_text(), "key_id": key.key_id }),
                ))
            }
        }
    }
}
