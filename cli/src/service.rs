//! `caas service`: the car's maintenance after delivery: when the next service is due, the car's
//! last report, workshop slots booked, moved and cancelled, and reading the car nearby.

use caas_core::PairingOptions;
use caas_core::protocol::maintenance::MaintenanceView;
use caas_core::protocol::messages::{Language, warning_label};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;

use crate::App;
use crate::output::{Output, lines};
use crate::pair::{LinkArgs, StepPrinter, explain_pairing, spinner};
use crate::render::plain;

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// The next service due, the car's last report, the booking and the workshop's visits.
    Status { order: Uuid },
    /// The workshop's free slots from 24 hours ahead.
    Slots { order: Uuid },
    /// Book a slot by its start (as `caas service slots` shows it), or move the booking there.
    Book { order: Uuid, start: DateTime<Utc> },
    /// Cancel the booked service.
    Cancel { order: Uuid },
    /// Read the car's odometer and warnings over the link (works without signal) for the platform.
    ReadCar {
        order: Uuid,
        #[command(flatten)]
        link: LinkArgs,
    },
}

impl App {
    pub async fn service(&self, command: ServiceCommand) -> anyhow::Result<Output> {
        let core = self.core().await?;
        Ok(match command {
            ServiceCommand::Status { order } => {
                if core.sync().await.is_err() {
                    crate::output::tell("Not synced: this is what the phone last knew.");
                }
                let maintenance = core.order(order).await?.maintenance;
                let text = match &maintenance {
                    Some(maintenance) => maintenance_text(maintenance),
                    None => "Maintenance starts once the car is operational.".into(),
                };
                Output::new(text, json!(maintenance))
            }
            ServiceCommand::Slots { order } => {
                let slots = core.service_slots(order).await?;
                let text = slots
                    .iter()
                    .map(|slot| format!("{}  ({} bay(s) free)", slot.start.format("%Y-%m-%dT%H:%M:%SZ"), slot.free));
                Output::new(lines(text, "No slot is free in the next two weeks."), json!(slots))
            }
            ServiceCommand::Book { order, start } => {
                core.book_service(order, start).await?;
                Output::new(
                    format!("Service booked for {} UTC.", start.format("%Y-%m-%d %H:%M")),
                    json!(core.order(order).await?.maintenance),
                )
            }
            ServiceCommand::Cancel { order } => {
                core.cancel_service(order).await?;
                Output::new("The booked service is cancelled.", json!(core.order(order).await?.maintenance))
            }
            ServiceCommand::ReadCar { order, link } => {
                let transport = link.transport().await?;
                let spinner = spinner(self.json);
                let printer = StepPrinter(spinner.clone());
                let reading = core
                    .read_vehicle(order, transport.as_ref(), PairingOptions::default(), Some(&printer))
                    .await
                    .map_err(explain_pairing)?;
                spinner.finish_and_clear();
                let warnings: Vec<&str> =
                    reading.warnings.iter().map(|w| warning_label(*w, Language::English)).collect();
                let mut text = format!(
                    "The car reads {} km, battery {}%{}",
                    reading.odometer_km,
                    reading.status.battery_percent,
                    if warnings.is_empty() { String::new() } else { format!("; warnings: {}", warnings.join(", ")) }
                );
                if !reading.reported {
                    text.push_str("\nNo signal: the platform hears of it at the next `caas sync`.");
                }
                Output::new(
                    text,
                    json!({ "odometer_km": reading.odometer_km, "warnings": reading.warnings,
                            "battery_percent": reading.status.battery_percent, "reported": reading.reported }),
                )
            }
        })
    }
}

/// The car's maintenance, for the terminal.
pub fn maintenance_text(maintenance: &MaintenanceView) -> String {
    let next = maintenance.next_service;
    let mut out = format!(
        "Next service at {} km or by {}, whichever comes first (every {} km or {} months)\n",
        next.due_km, next.due_by, maintenance.plan.every_km, maintenance.plan.every_months
    );
    match maintenance.reported_at {
        Some(at) => out.push_str(&format!(
            "The car reported {} km on {}\n",
            maintenance.odometer_km,
            at.format("%Y-%m-%d %H:%M")
        )),
        None => out.push_str("The car has not reported yet\n"),
    }
    if !maintenance.warnings.is_empty() {
        let words: Vec<&str> = maintenance.warnings.iter().map(|w| warning_label(*w, Language::English)).collect();
        out.push_str(&format!("Warnings: {}\n", words.join(", ")));
    }
    if let Some(booking) = &maintenance.booking {
        out.push_str(&format!(
            "Service booked for {} UTC ({} move(s) left)\n",
            booking.start.format("%Y-%m-%d %H:%M"),
            booking.changes_left
        ));
    }
    for visit in &maintenance.visits {
        out.push_str(&format!(
            "Serviced {} at {} km: {}\n",
            visit.at.format("%Y-%m-%d"),
            visit.odometer_km,
            plain(&visit.work)
        ));
    }
    out
}
