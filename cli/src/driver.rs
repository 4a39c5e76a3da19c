//! `caas driver`: the driver role. Every action is recorded on this machine first and synced when
//! the platform can be reached; `caas driver sync` sends what waits.

use caas_core::protocol::arrival::EtaReason;
use caas_core::protocol::delivery::{CallOutcome, IncidentKind};
use caas_core::{AssignedDelivery, DriverActionOutcome, DriverSyncReport};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use uuid::Uuid;

use crate::App;
use crate::customer::CodeArgs;
use crate::output::Output;
use crate::render;
use crate::roles::Role;

#[derive(Debug, Subcommand)]
pub enum DriverCommand {
    /// Sign in as a transport company's driver with the code emailed to you.
    SignIn {
        email: String,
        #[command(flatten)]
        code: CodeArgs,
    },
    /// The company's deliveries (fetched when online, from this machine otherwise).
    Deliveries,
    /// The car is loaded: scan or type its VIN.
    Embark {
        delivery: Uuid,
        #[arg(long)]
        vin: String,
    },
    /// Arrived at the customer's address.
    Arrive { delivery: Uuid },
    /// Something on the way stops the trip: the car goes back to the dealership with you.
    Incident {
        delivery: Uuid,
        #[arg(long, value_enum)]
        kind: Incident,
        /// What happened, for the customer and the dealership (one line, at most 500 characters).
        #[arg(long)]
        note: Option<String>,
    },
    /// A delay on the way: every car still on its way is expected MINUTES later, and the customers
    /// are told when it matters.
    Delay {
        #[arg(long)]
        minutes: u32,
        #[arg(long, value_enum)]
        reason: Delay,
    },
    /// Nobody took the car; record what the phone call gave.
    Absent(AbsentArgs),
    /// Check the customer's code (QR token or 8 digits) and hand the car over.
    Handover {
        delivery: Uuid,
        code: String,
        /// Only check the code; record nothing.
        #[arg(long)]
        check: bool,
    },
    /// Send the actions waiting on this machine, then refresh the deliveries.
    Sync,
    /// Actions the platform refused, to read and dismiss.
    Conflicts {
        /// Dismiss the conflict with this id.
        #[arg(long)]
        dismiss: Option<i64>,
    },
    /// Actions held on this machine because the platform's answer could not be read, to retry or
    /// discard.
    Held(HeldArgs),
}

#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct HeldArgs {
    /// Send the held action with this id again (with the actions behind it).
    #[arg(long)]
    retry: Option<i64>,
    /// Give up the held action with this id.
    #[arg(long)]
    discard: Option<i64>,
}

/// What stopped the trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Incident {
    Breakdown,
    Damage,
    RoadClosed,
}

impl From<Incident> for IncidentKind {
    fn from(incident: Incident) -> Self {
        match incident {
            Incident::Breakdown => IncidentKind::Breakdown,
            Incident::Damage => IncidentKind::Damage,
            Incident::RoadClosed => IncidentKind::RoadClosed,
        }
    }
}

/// Why the trip runs late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Delay {
    Traffic,
    Weather,
    LongerStop,
}

impl From<Delay> for EtaReason {
    fn from(delay: Delay) -> Self {
        match delay {
            Delay::Traffic => EtaReason::Traffic,
            Delay::Weather => EtaReason::Weather,
            Delay::LongerStop => EtaReason::LongerStop,
        }
    }
}

#[derive(Debug, Args)]
pub struct AbsentArgs {
    delivery: Uuid,
    #[command(flatten)]
    call: CallArgs,
}

/// What the phone call gave: exactly one of the three.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct CallArgs {
    /// A new time was agreed: the start of the window (RFC 3339).
    #[arg(long)]
    reschedule: Option<DateTime<Utc>>,
    /// The customer could not be reached.
    #[arg(long)]
    unreachable: bool,
    /// The customer was reached but cannot take the car.
    #[arg(long)]
    cannot_accept: bool,
}

impl AbsentArgs {
    fn call(&self) -> CallOutcome {
        match self.call.reschedule {
            Some(window_start) => CallOutcome::Rescheduled { window_start },
            None if self.call.unreachable => CallOutcome::Unreachable,
            None => CallOutcome::CannotAccept,
        }
    }
}

impl App {
    pub async fn driver(&self, command: DriverCommand) -> anyhow::Result<Output> {
        let core = self.core_as(Role::Driver).await?;
        let outcome = match command {
            DriverCommand::SignIn { email, code } => {
                let code = self.sign_in_code(&core, &email, code).await?;
                let driver = core.sign_in_driver(&email, &code).await?;
                let list = core.refresh_deliveries().await?;
                return Ok(Output::new(
                    format!("Signed in as driver {driver}; {} open deliveries.", list.len()),
                    json!({ "driver_id": driver, "deliveries": list.len() }),
                ));
            }
            DriverCommand::Deliveries => {
                let list = match core.refresh_deliveries().await {
                    Ok(list) => list,
                    Err(error) if error.is_unreachable() => {
                        crate::output::tell(format_args!(
                            "{}: showing the deliveries kept on this machine",
                            error.chain()
                        ));
                        core.deliveries().await?
                    }
                    Err(error) => return Err(error.into()),
                };
                return Ok(deliveries_output(&list));
            }
            DriverCommand::Embark { delivery, vin } => core.embark(delivery, &vin).await,
            DriverCommand::Arrive { delivery } => core.arrive(delivery).await,
            DriverCommand::Incident { delivery, kind, note } => {
                core.report_incident(delivery, kind.into(), note.as_deref()).await
            }
            DriverCommand::Delay { minutes, reason } => {
                let sent = core.report_delay(minutes, reason.into()).await?;
                return Ok(Output::new(
                    format!(
                        "Every car on its way is now expected {minutes} min later: {} estimate(s) sent, {} waiting for a connection.",
                        sent.sent, sent.waiting
                    ),
                    json!({ "minutes": minutes, "sent": sent.sent, "waiting": sent.waiting }),
                ));
            }
            DriverCommand::Absent(args) => core.report_absent(args.delivery, args.call()).await,
            DriverCommand::Handover { delivery, code, check: true } => {
                let check = core.check_handover_code(delivery, &code).await?;
                return Ok(Output::new(
                    format!(
                        "Valid code of {} for order {} (until {} UTC).",
                        check.customer_name,
                        check.order_id,
                        check.expires_at.format("%H:%M")
                    ),
                    json!({ "valid": true, "order_id": check.order_id, "customer": check.customer_name,
                            "expires_at": check.expires_at }),
                ));
            }
            DriverCommand::Handover { delivery, code, check: false } => core.confirm_handover(delivery, &code).await,
            DriverCommand::Sync => {
                let report = core.sync_driver().await?;
                return outbox_output(&core, Some(&report)).await;
            }
            DriverCommand::Held(HeldArgs { retry: Some(id), .. }) => {
                let report = core.retry_driver_action(id).await?;
                return outbox_output(&core, Some(&report)).await;
            }
            DriverCommand::Held(HeldArgs { discard: Some(id), .. }) => {
                core.discard_driver_action(id).await?;
                return outbox_output(&core, None).await;
            }
            DriverCommand::Held(_) => return outbox_output(&core, None).await,
            DriverCommand::Conflicts { dismiss } => {
                if let Some(id) = dismiss {
                    core.dismiss_driver_conflict(id).await?;
                }
                return outbox_output(&core, None).await;
            }
        };
        Ok(match outcome? {
            DriverActionOutcome::Synced => Output::new("Recorded and synced.", json!({ "status": "synced" })),
            DriverActionOutcome::Queued { pending } => Output::new(
                format!("Recorded on this machine; {pending} action(s) wait for a connection (`caas driver sync`)."),
                json!({ "status": "queued", "pending": pending }),
            ),
            DriverActionOutcome::Wedged { id, reason } => Output::new(
                format!(
                    "Recorded on this machine, but the platform's answer could not be read ({reason}). \
                     Retry with `caas driver held --retry {id}` or give it up with `--discard {id}`."
                ),
                json!({ "status": "held", "held_id": id, "reason": reason }),
            ),
        })
    }
}

fn deliveries_output(list: &[AssignedDelivery]) -> Output {
    let rows: Vec<_> = list
        .iter()
        .map(|d| {
            json!({
                "delivery_id": d.delivery_id, "order_id": d.order_id, "status": d.state, "attempt": d.attempt,
                "window_start": d.window.start, "window_end": d.window.end, "vin": d.vin, "plate": d.plate,
                "customer": d.customer_name, "address": d.address, "unsynced_actions": d.unsynced_actions,
                "eta": d.eta,
            })
        })
        .collect();
    let text = match list.is_empty() {
        true => "No open deliveries.".to_owned(),
        false => list
            .iter()
            .map(|d| {
                format!(
                    "{}  {:<22} {}  {} {}  {}{}{}",
                    d.delivery_id,
                    d.state.wire_name(),
                    render::window(&d.window),
                    d.model,
                    d.plate.as_deref().unwrap_or(&d.vin),
                    d.address.as_deref().unwrap_or("(no address)"),
                    d.eta.map(|eta| format!("  expected {}", render::eta_text(&eta))).unwrap_or_default(),
                    if d.unsynced_actions > 0 {
                        format!("  [{} not synced]", d.unsynced_actions)
                    } else {
                        String::new()
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    };
    Output::new(text, json!(rows))
}

/// What waits on this machine: the last sync's report (when one ran), the refused actions to
/// read and the held ones to retry or discard.
async fn outbox_output(core: &caas_core::Caas, report: Option<&DriverSyncReport>) -> anyhow::Result<Output> {
    let mut lines = Vec::new();
    if let Some(report) = report {
        lines.push(format!(
            "Sent {}, refused {}, waiting {}, held for you {}.",
            report.sent, report.rejected, report.pending, report.held
        ));
    }
    let conflicts = core.driver_conflicts().await?;
    for conflict in &conflicts {
        lines.push(format!(
            "conflict {}: {} on delivery {} refused ({}): {}  (`caas driver conflicts --dismiss {}`)",
            conflict.id, conflict.action, conflict.delivery_id, conflict.code, conflict.reason, conflict.id
        ));
    }
    let held = core.wedged_driver_actions().await?;
    for held in &held {
        lines.push(format!(
            "held {}: {} on delivery {} since {} UTC, {} action(s) behind it: {}  \
             (`caas driver held --retry {}` or `--discard {}`)",
            held.id,
            render::step(held.step),
            held.delivery_id,
            held.wedged_at.format("%H:%M"),
            held.waiting_behind,
            held.reason,
            held.id,
            held.id
        ));
    }
    if lines.is_empty() {
        lines.push("Nothing waits on this machine.".into());
    }
    let report = report.map(|r| json!({ "sent": r.sent, "refused": r.rejected, "pending": r.pending, "held": r.held }));
    let conflicts: Vec<_> = conflicts
        .iter()
        .map(|c| json!({ "id": c.id, "action": c.action, "delivery_id": c.delivery_id, "code": c.code, "reason": c.reason }))
        .collect();
    let held: Vec<_> = held
        .iter()
        .map(|h| {
            json!({ "id": h.id, "step": render::step(h.step), "delivery_id": h.delivery_id, "since": h.wedged_at,
                    "waiting_behind": h.waiting_behind, "reason": h.reason })
        })
        .collect();
    Ok(Output::new(lines.join("\n"), json!({ "report": report, "conflicts": conflicts, "held": held })))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::Cli;

    fn absent(args: &[&str]) -> Result<CallOutcome, clap::Error> {
        let id = "0190f5a0-0000-7000-8000-000000000001";
        let cli = Cli::try_parse_from(["caas", "driver", "absent", id].iter().chain(args))?;
        match cli.command {
            crate::Command::Driver { command: DriverCommand::Absent(args) } => Ok(args.call()),
            other => panic!("parsed as {other:?}"),
        }
    }

    /// Issue 12, point 9: every form the help text shows once exited 2.
    #[test]
    fn every_absent_form_parses_to_its_outcome() {
        assert_eq!(absent(&["--unreachable"]).expect("parses"), CallOutcome::Unreachable);
        assert_eq!(absent(&["--cannot-accept"]).expect("parses"), CallOutcome::CannotAccept);
        let start: DateTime<Utc> = "2026-12-01T09:00:00Z".parse().expect("time");
        assert_eq!(
            absent(&["--reschedule", "2026-12-01T09:00:00Z"]).expect("parses"),
            CallOutcome::Rescheduled { window_start: start }
        );
    }

    #[test]
    fn every_incident_kind_parses() {
        let id = "0190f5a0-0000-7000-8000-000000000001";
        for (flag, kind) in [
            ("breakdown", IncidentKind::Breakdown),
            ("damage", IncidentKind::Damage),
            ("road-closed", IncidentKind::RoadClosed),
        ] {
            let cli = Cli::try_parse_from(["caas", "driver", "incident", id, "--kind", flag, "--note", "A-6"])
                .expect("parses");
            match cli.command {
                crate::Command::Driver { command: DriverCommand::Incident { kind: parsed, note, .. } } => {
                    assert_eq!(IncidentKind::from(parsed), kind);
                    assert_eq!(note.as_deref(), Some("A-6"));
                }
                other => panic!("parsed as {other:?}"),
            }
        }
        assert!(Cli::try_parse_from(["caas", "driver", "incident", id]).is_err(), "the kind is required");
    }

    #[test]
    fn absent_needs_exactly_one_outcome() {
        assert!(absent(&[]).is_err(), "no outcome");
        assert!(absent(&["--unreachable", "--cannot-accept"]).is_err(), "two outcomes");
    }
}
