//! `caas delivery`: the customer's side of the delivery (windows, address, handover code).

use std::io::IsTerminal as _;

use caas_core::CaasError;
use caas_core::protocol::delivery::HandoverCodeView;
use caas_core::protocol::handover::PRESENTATION_REFRESH;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;

use crate::App;
use crate::failure::{Exit, Failure};
use crate::output::{Output, lines, write_stdout};
use crate::render;

#[derive(Debug, Subcommand)]
pub enum DeliveryCommand {
    /// The windows the delivery can move to.
    Slots { order: Uuid },
    /// Move the delivery to the offered window starting at START (RFC 3339, as `slots` prints it).
    Choose { order: Uuid, start: DateTime<Utc> },
    /// Confirm the delivery address, or correct it with --address.
    ConfirmAddress {
        order: Uuid,
        #[arg(long)]
        address: Option<String>,
    },
    /// Show the handover code for the driver or the dealership.
    Code {
        order: Uuid,
        /// Keep the code on screen, signed again every half minute until it expires, as the app
        /// does, so a driver without signal can prove when it was checked.
        #[arg(long)]
        live: bool,
    },
    /// Dispute a recorded handover (the car did not reach you); the dealership is told at once.
    Dispute {
        order: Uuid,
        /// What happened.
        #[arg(long)]
        reason: String,
    },
}

impl App {
    pub async fn delivery(&self, command: DeliveryCommand) -> anyhow::Result<Output> {
        let core = self.core().await?;
        Ok(match command {
            DeliveryCommand::Slots { order } => {
                let slots = core.delivery_slots(order).await?;
                let text = slots.iter().map(|slot| {
                    format!(
                        "{}  {}  ({} free)",
                        slot.window.start.to_rfc3339(),
                        render::window(&slot.window),
                        slot.free
                    )
                });
                Output::new(lines(text, "No other window is free."), json!(slots))
            }
            DeliveryCommand::Choose { order, start } => {
                core.choose_delivery_window(order, start).await.map_err(explain_delivery)?;
                let order = core.order(order).await?;
                Output::new(render::timeline_text(&order), render::detail_json(&order))
            }
            DeliveryCommand::ConfirmAddress { order, address } => {
                core.confirm_delivery_address(order, address).await.map_err(explain_delivery)?;
                Output::new(
                    "The delivery address is confirmed.",
                    json!({ "order_id": order, "address_confirmed": true }),
                )
            }
            DeliveryCommand::Code { order, live } => {
                let code = core.handover_code(order).await?;
                if !live {
                    return code_output(&code);
                }
                code_output(&code)?.print(self.json)?;
                self.keep_live(&core, order).await?
            }
            DeliveryCommand::Dispute { order, reason } => {
                core.dispute_handover(order, &reason).await?;
                Output::new(
                    "Your dispute is recorded and your dealership was told; they will contact you.",
                    json!({ "order_id": order, "disputed": true }),
                )
            }
        })
    }

    /// Shows the code again every [`PRESENTATION_REFRESH`], signed for that moment, until it expires.
    async fn keep_live(&self, core: &caas_core::Caas, order: Uuid) -> anyhow::Result<Output> {
        loop {
            tokio::time::sleep(PRESENTATION_REFRESH.to_std().unwrap_or_default()).await;
            match core.present_handover_code(order).await {
                Ok(code) => {
                    if !self.json && std::io::stdout().is_terminal() {
                        write_stdout("\x1b[2J\x1b[H")?;
                    }
                    code_output(&code)?.print(self.json)?;
                }
                Err(CaasError::NotFound(_)) => {
                    return Ok(Output::new(
                        "The code has expired; run this again for a new one.",
                        json!({ "order_id": order, "expired": true }),
                    ));
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// The code as a QR code and its eight digits, or for scripts the token itself (also for the
/// sandbox's back-dated codes, hence the expired case).
pub(crate) fn code_output(code: &HandoverCodeView) -> anyhow::Result<Output> {
    let qr = qrcode::QrCode::new(code.token.as_bytes())?;
    let validity = if code.expires_at > Utc::now() { "valid until" } else { "expired at" };
    let text = format!(
        "{}\nCode {}  ({validity} {} UTC)",
        qr.render::<qrcode::render::unicode::Dense1x2>().quiet_zone(true).build(),
        code.short_code,
        code.expires_at.format("%H:%M")
    );
    Ok(Output::new(text, json!(code)))
}

fn explain_delivery(error: CaasError) -> anyhow::Error {
    match error {
        error if error.is_unreachable() => Failure::new(Exit::Offline, "offline", error.chain())
            .with_fix("moving the delivery needs the platform: run it again once connected")
            .into(),
        other => other.into(),
    }
}
