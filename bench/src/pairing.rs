//! Pairing over the simulated BLE link to the mock's car, at a 30 ms connection interval: the
//! handshake up to the car's first authenticated reply, and the whole pairing (handshake, "link
//! app", a status read), at MTU 185 and 23. Baseline, in the same run: the same at MTU 517, the
//! fewest chunks a link can take. Air time is simulated (counted per connection event, not
//! slept); wall time is what the phone's CPU and the loopback cost around it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use caas_core::protocol::OrderState;
use caas_core::{Air, LinkConditions, LinkUse, PairingOptions, SimulatedTransport};
use caas_mock::client::SandboxClient;
use caas_mock::{MockConfig, start};
use serde_json::json;

use crate::{booked_orders, driver, ms, percentile};

/// The MTUs measured, the baseline first.
const MTUS: [u16; 3] = [517, 185, 23];
const INTERVAL: Duration = Duration::from_millis(30);

struct Row {
    mtu: u16,
    first_reply: LinkUse,
    total: LinkUse,
    wall_p50: Duration,
}

pub(super) struct PairingFigures {
    rows: Vec<Row>,
}

fn air_ms(link: &LinkUse) -> f64 {
    link.air_time.map_or(f64::NAN, ms)
}

impl PairingFigures {
    fn baseline(&self) -> &Row {
        &self.rows[0]
    }

    pub(super) fn print(&self) {
        println!("pairing over the simulated link, {} ms connection interval:", INTERVAL.as_millis());
        for row in &self.rows {
            let ratio = air_ms(&row.first_reply) / air_ms(&self.baseline().first_reply);
            println!(
                "  MTU {:>3}  to first reply: {} round trips, {:>4} B sent, {:>4} B received, {:>6.0} ms on the air \
                 ({ratio:.2}x MTU 517)",
                row.mtu,
                row.first_reply.round_trips,
                row.first_reply.bytes_to_car,
                row.first_reply.bytes_to_phone,
                air_ms(&row.first_reply),
            );
            println!(
                "           whole pairing: {} round trips, {:>4} B sent, {:>4} B received, {:>6.0} ms on the air, \
                 {:.2} ms wall (p50)",
                row.total.round_trips,
                row.total.bytes_to_car,
                row.total.bytes_to_phone,
                air_ms(&row.total),
                ms(row.wall_p50)
            );
        }
    }

    pub(super) fn json(&self) -> serde_json::Value {
        let use_json = |link: &LinkUse| {
            json!({ "round_trips": link.round_trips, "bytes_to_car": link.bytes_to_car,
                    "bytes_to_phone": link.bytes_to_phone, "air_ms": air_ms(link) })
        };
        let baseline = air_ms(&self.baseline().first_reply);
        json!({
            "connection_interval_ms": INTERVAL.as_millis(),
            "baseline_mtu": self.baseline().mtu,
            "rows": self.rows.iter().map(|row| json!({
                "mtu": row.mtu,
                "to_first_reply": use_json(&row.first_reply),
                "whole_pairing": use_json(&row.total),
                "wall_p50_ms": ms(row.wall_p50),
                "air_ratio_to_baseline": air_ms(&row.first_reply) / baseline,
            })).collect::<Vec<_>>(),
        })
    }
}

pub(super) async fn pairing(iterations: usize) -> anyhow::Result<PairingFigures> {
    let dir = tempfile::tempdir()?;
    let mock = start(MockConfig::ephemeral(dir.path().join("platform.sqlite3"))).await?;
    let sandbox = SandboxClient::new(&mock.url, &mock.sandbox_token);
    let (phone, orders) = booked_orders(&mock, &sandbox, dir.path(), 1).await?;
    let order = orders[0];
    let driver = driver(&mock, &sandbox, dir.path().join("driver")).await?;
    let job = driver.refresh_deliveries().await?.into_iter().next().context("the delivery")?;
    driver.embark(job.delivery_id, &job.vin).await?;
    driver.arrive(job.delivery_id).await?;
    driver.confirm_handover(job.delivery_id, &phone.handover_code(order).await?.token).await?;
    phone.sync_order(order).await?;
    anyhow::ensure!(phone.order(order).await?.summary.state == OrderState::Delivered, "the car was not handed over");
    phone.prepare_pairing(order).await?;

    let radio = mock.radio.clone();
    let air = Air::InProcess(Arc::new(move || radio.connect_in_process()));
    let mut rows = Vec::new();
    for mtu in MTUS {
        let transport = SimulatedTransport::new(
            air.clone(),
            LinkConditions { mtu, connection_interval: INTERVAL, ..LinkConditions::default() },
        );
        let mut walls = Vec::with_capacity(iterations);
        let mut last = None;
        for _ in 0..iterations {
            let started = Instant::now();
            let paired = phone.pair_vehicle(order, &transport, PairingOptions::default(), None).await?;
            walls.push(started.elapsed());
            last = Some(paired.link);
        }
        walls.sort();
        let link = last.context("at least one pairing")?;
        anyhow::ensure!(link.mtu == mtu, "asked for MTU {mtu}, got {}", link.mtu);
        rows.push(Row { mtu, first_reply: link.to_first_reply, total: link.total, wall_p50: percentile(&walls, 0.5) });
    }
    mock.stop().await;
    Ok(PairingFigures { rows })
}
