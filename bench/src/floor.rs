//! The floor under a push: the steps no push to a listener may skip under the platform's rules,
//! each timed alone on this machine, beside the bare round trip the push is compared with.
//!
//! - The webhook travels in and the push travels out: one bare round trip between them.
//! - The platform checks the webhook's signature, commits the change before it answers or pushes
//!   anything, and signs the new head of the order's record for the phone.
//! - The phone checks that signature and commits the change before a listener is told, so a
//!   listener never shows what a restart would lose.
//!
//! Their sum is about what a push would cost if HTTP, routing, JSON, the hash chain, the messages
//! and threads waking one another cost nothing. Each step is the median of many, run warm in a
//! loop on a bare table, so the floor is below what a push on this machine usually takes.

use std::path::Path;
use std::time::{Duration, Instant};

use caas_core::protocol::record::{RecordHash, RecordSigner};
use caas_core::protocol::webhook::{self, WebhookSecret, WebhookVerifier};
use chrono::{Days, Utc};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;
use uuid::Uuid;

use crate::{Placed, median, ms};

/// The steps' medians, in the order a push takes them.
pub(crate) struct Floor {
    steps: [(&'static str, Duration); 5],
}

impl Floor {
    fn total(&self, round_trip: Duration) -> Duration {
        round_trip + self.steps.iter().map(|(_, d)| *d).sum::<Duration>()
    }

    /// `round_trip` is the bare round trip's median in the same run.
    pub(crate) fn print(&self, round_trip: Duration) {
        let total = self.total(round_trip);
        println!(
            "{:<18} p50 {:7.3} ms   ratio {:.1}x of the bare RTT",
            "push floor",
            ms(total),
            total.as_secs_f64() / round_trip.as_secs_f64()
        );
        let steps = self.steps.iter().map(|(label, d)| format!("{label} {:.3}", ms(*d))).collect::<Vec<_>>();
        println!("  bare RTT {:.3} + {} ms", ms(round_trip), steps.join(" + "));
    }

    pub(crate) fn json(&self, round_trip: Duration) -> serde_json::Value {
        let total = self.total(round_trip);
        let steps: serde_json::Map<_, _> =
            self.steps.iter().map(|(label, d)| (label.replace(' ', "_"), json!(ms(*d)))).collect();
        json!({ "p50_ms": ms(total), "ratio_p50": total.as_secs_f64() / round_trip.as_secs_f64(),
                "baseline_http_p50_ms": ms(round_trip), "steps_ms": steps })
    }
}

/// Times each step `iterations` times in `dir`.
pub(crate) fn push_floor(dir: &Path, iterations: usize) -> anyhow::Result<Floor> {
    let secrets = vec![WebhookSecret::from_bytes(vec![7; 32])?];
    let mut placed = Placed {
        id: Uuid::now_v7(),
        factory_order: "F-FLOOR".into(),
        version: 1,
        estimate: Utc::now().date_naive() + Days::new(90),
    };
    let revision = placed.next_revision(&secrets)?;
    let mut headers = HeaderMap::new();
    headers.insert(webhook::HEADER_WEBHOOK_ID, HeaderValue::from_str(&revision.headers.id)?);
    headers.insert(webhook::HEADER_WEBHOOK_TIMESTAMP, HeaderValue::from(revision.headers.timestamp));
    headers.insert(webhook::HEADER_WEBHOOK_SIGNATURE, HeaderValue::from_str(&revision.headers.signature)?);
    let verifier = WebhookVerifier::new(secrets);
    let body = revision.body.as_bytes();
    let checked = time(iterations, || verifier.verify(&headers, body).map(drop).map_err(anyhow::Error::from))?;

    let platform = Commits::open(&dir.join("platform.sqlite3"))?;
    let phone = Commits::open(&dir.join("phone.sqlite3"))?;
    let platform_commit = time(iterations, || platform.commit(&revision.body))?;
    let phone_commit = time(iterations, || phone.commit(&revision.body))?;

    let signer = RecordSigner::from_seed(&[9; 32]);
    let key = signer.public_key();
    let hash = RecordHash::genesis(placed.id);
    let signed = time(iterations, || {
        std::hint::black_box(signer.sign(placed.id, placed.version, hash));
        Ok(())
    })?;
    let head = signer.sign(placed.id, placed.version, hash);
    let verified = time(iterations, || head.verify(&key).map_err(anyhow::Error::from))?;

    Ok(Floor {
        steps: [
            ("webhook checked", checked),
            ("platform commit", platform_commit),
            ("head signed", signed),
            ("head checked", verified),
            ("phone commit", phone_commit),
        ],
    })
}

/// The median of `iterations` runs of `step`.
fn time(iterations: usize, mut step: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let mut runs = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        step()?;
        runs.push(started.elapsed());
    }
    Ok(median(runs))
}

/// A store with the platform's and the phone's durability (write-ahead log, `synchronous =
/// NORMAL`), committing one row the size of the change in a transaction of its own into a bare
/// table: no index, no trigger, no `secure_delete`.
struct Commits(rusqlite::Connection);

impl Commits {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = crate::rusqlite_connection(path)?;
        conn.execute("CREATE TABLE changes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)", [])?;
        Ok(Self(conn))
    }

    fn commit(&self, body: &str) -> anyhow::Result<()> {
        let tx = self.0.unchecked_transaction()?;
        tx.prepare_cached("INSERT INTO changes (body) VALUES (?1)")?.execute([body])?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_of_the_floor_is_timed_and_added_to_the_round_trip() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let floor = push_floor(dir.path(), 5)?;
        let labels = floor.steps.map(|(label, _)| label);
        assert_eq!(labels, ["webhook checked", "platform commit", "head signed", "head checked", "phone commit"]);
        assert!(floor.steps.iter().all(|(_, d)| !d.is_zero()), "a step took no time: {:?}", floor.steps);
        let round_trip = Duration::from_micros(100);
        let steps: Duration = floor.steps.iter().map(|(_, d)| *d).sum();
        assert_eq!(floor.total(round_trip), round_trip + steps);
        let figure = floor.json(round_trip);
        assert_eq!(figure["steps_ms"].as_object().map(serde_json::Map::len), Some(5));
        let expected = (round_trip + steps).as_secs_f64() / round_trip.as_secs_f64();
        assert_eq!(figure["ratio_p50"].as_f64(), Some(expected));
        // Both commits landed, each in a store of its own.
        for store in ["platform.sqlite3", "phone.sqlite3"] {
            let conn = rusqlite::Connection::open(dir.path().join(store))?;
            let rows: i64 = conn.query_row("SELECT count(*) FROM changes", [], |r| r.get(0))?;
            assert_eq!(rows, 5, "{store}");
        }
        Ok(())
    }
}
