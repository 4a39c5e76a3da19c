//! `caas service`: the car's maintenance after delivery: when the next service is due, the car's
//! last report, workshop slots booked, moved and cancelled, and reading the car nearby.

use caas_core::PairingOptions;
use caas_core::protocol::maintenance::MaintenanceView;
use caas_core::protocol::messages::{Language, warning_label};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;

use crate::customer::{App, explain};
use crate::pair::{LinkArgs, StepPrinter, explain_pairing, spinner};
use crate::render::plain;

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// The next service due, the car's last report, the booking and the workshop's visits.
    Status {
        order: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// The workshop's free slots from 24 hours ahead.
    Slots {
        order: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Book a slot by its start (as `caas service slots` shows it), or move the booking there.
    Book {
        order: Uuid,
        start: DateTime<Utc>,
        /// Print the maintenance as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Cancel the booked service.
    Cancel {
        order: Uuid,
        /// Print the maintenance as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Read the car's odometer and warnings over the link (works without signal) for the platform.
    ReadCar {
        order: Uuid,
        #[command(flatten)]
        link: LinkArgs,
        #[arg(long)]
        json: bool,
    },
}

impl App {
    pub async fn service(&self, command: ServiceCommand) -> anyhow::Result<()> {
        let core = self.core().await?;
        match command {
            ServiceCommand::Status { order, json } => {
                if core.sync().await.is_err() {
                    eprintln!("Not synced: this is what the phone last knew.");
                }
                let maintenance = core.order(order).await?.maintenance;
                match (maintenance, json) {
                    (maintenance, true) => println!("{}", json!(maintenance)),
                    (Some(maintenance), false) => print!("{}", maintenance_text(&maintenance)),
                    (None, false) => println!("Maintenance starts once the car is operational."),
                }
            }
            ServiceCommand::Slots { order, json } => {
                let slots = core.service_slots(order).await.map_err(explain)?;
                if json {
                    println!("{}", json!(slots));
                } else {
                    for slot in slots {
                        println!("{}  ({} bay(s) free)", slot.start.format("%Y-%m-%dT%H:%M:%SZ"), slot.free);
                    }
                }
            }
            ServiceCommand::Book { order, start, json } => {
                core.book_service(order, start).await.map_err(explain)?;
                match json {
                    true => println!("{}", json!(core.order(order).await?.maintenance)),
                    false => println!("Service booked for {} UTC.", start.format("%Y-%m-%d %H:%M")),
                }
            }
            ServiceCommand::Cancel { order, json } => {
                core.cancel_service(order).await.map_err(explain)?;
                match json {
                    true => println!("{}", json!(core.order(order).await?.maintenance)),
                    false => println!("The booked service is cancelled."),
                }
            }
            ServiceCommand::ReadCar { order, link, json } => {
                let transport = link.transport().await?;
                let spinner = spinner(json);
                let printer = StepPrinter(spinner.clone());
                let reading = core
                    .read_vehicle(order, transport.as_ref(), PairingOptions::default(), Some(&printer))
                    .await
                    .map_err(explain_pairing)?;
                spinner.finish_and_clear();
                let warnings: Vec<&str> =
                    reading.warnings.iter().map(|w| warning_label(*w, Language::English)).collect();
                if json {
                    println!(
                        "{}",
                        json!({ "odometer_km": reading.odometer_km, "warnings": reading.warnings,
                                "battery_percent": reading.status.battery_percent, "reported": reading.reported })
                    );
                } else {
                    println!(
                        "The car reads {} km, battery {}%{}",
                        reading.odometer_km,
                        reading.status.battery_percent,
                        if warnings.is_empty() {
                            String::new()
                        } else {
                            format!("; warnings: {}", warnings.join(", "))
                        }
                    );
                    if !reading.reported {
                        println!("No signal: the platform hears of it at the next `caas sync`.");
                    }
                }
            }
        }
        Ok(())
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
