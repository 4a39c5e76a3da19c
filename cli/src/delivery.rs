//! `caas delivery`: the customer's side of the delivery (windows, address, handover code).

use std::io::IsTerminal as _;

use caas_core::CaasError;
use caas_core::protocol::delivery::HandoverCodeView;
use caas_core::protocol::handover::PRESENTATION_REFRESH;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use uuid::Uuid;

use crate::customer::{App, explain};
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
    pub async fn delivery(&self, command: DeliveryCommand) -> anyhow::Result<()> {
        let core = self.core().await?;
        match command {
            DeliveryCommand::Slots { order } => {
                for slot in core.delivery_slots(order).await.map_err(explain)? {
                    println!(
                        "{}  {}  ({} free)",
                        slot.window.start.to_rfc3339(),
                        render::window(&slot.window),
                        slot.free
                    );
                }
            }
            DeliveryCommand::Choose { order, start } => {
                core.choose_delivery_window(order, start).await.map_err(explain_delivery)?;
                print!("{}", render::timeline_text(&core.order(order).await?));
            }
            DeliveryCommand::ConfirmAddress { order, address } => {
                core.confirm_delivery_address(order, address).await.map_err(explain_delivery)?;
                println!("The delivery address is confirmed.");
            }
            DeliveryCommand::Code { order, live } => {
                show_code(&core.handover_code(order).await.map_err(explain)?)?;
                if live {
                    keep_live(&core, order).await?;
                }
            }
            DeliveryCommand::Dispute { order, reason } => {
                core.dispute_handover(order, &reason).await.map_err(explain)?;
                println!("Your dispute is recorded and your dealership was told; they will contact you.");
            }
        }
        Ok(())
    }
}

/// Shows the code again every [`PRESENTATION_REFRESH`], signed for that moment, until it expires.
async fn keep_live(core: &caas_core::Caas, order: Uuid) -> anyhow::Result<()> {
    loop {
        tokio::time::sleep(PRESENTATION_REFRESH.to_std().unwrap_or_default()).await;
        match core.present_handover_code(order).await {
            Ok(code) => {
                if std::io::stdout().is_terminal() {
                    print!("\x1b[2J\x1b[H");
                }
                show_code(&code)?;
            }
            Err(CaasError::NotFound(_)) => {
                println!("The code has expired; run this again for a new one.");
                return Ok(());
            }
            Err(error) => return Err(explain(error)),
        }
    }
}

fn show_code(code: &HandoverCodeView) -> anyhow::Result<()> {
    let qr = qrcode::QrCode::new(code.token.as_bytes())?;
    println!("{}", qr.render::<qrcode::render::unicode::Dense1x2>().quiet_zone(true).build());
    println!("Code {}  (valid until {} UTC)", code.short_code, code.expires_at.format("%H:%M"));
    Ok(())
}

fn explain_delivery(error: CaasError) -> anyhow::Error {
    match error {
        error if error.is_unreachable() => {
            anyhow::anyhow!("{}: moving the delivery needs the platform", error.chain())
        }
        other => explain(other),
    }
}
