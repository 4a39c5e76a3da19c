//! `caas pay`: the amount due, by card through the gateway, resumed after 3-D Secure or an
//! interruption.

use caas_core::protocol::payment::CardDetails;
use caas_core::{CaasError, PaymentProgress};
use clap::Args;
use uuid::Uuid;

use crate::App;
use crate::customer::prompt;
use crate::failure::{Exit, Failure};
use crate::output::Output;

#[derive(Debug, Args)]
pub struct PayArgs {
    pub order: Uuid,
    #[command(flatten)]
    pub card: CardArgs,
    /// Find out how the payment in progress ended (after 3-D Secure, or after an interruption).
    #[arg(long)]
    pub resume: bool,
}

/// The card to pay with.
#[derive(Debug, Args)]
pub struct CardArgs {
    /// The card number (asked for when neither this nor --resume is given).
    #[arg(long, conflicts_with = "resume")]
    pub card: Option<String>,
    /// Expiry as MM/YY.
    #[arg(long, default_value = "12/34", value_parser = parse_expiry)]
    pub exp: (u8, u16),
    #[arg(long, default_value = "123")]
    pub cvc: String,
}

impl CardArgs {
    /// The card, its number asked for when not given.
    pub fn details(self) -> anyhow::Result<CardDetails> {
        let number = match self.card {
            Some(number) => number,
            None => prompt("Card number: ")?,
        };
        Ok(CardDetails { number, exp_month: self.exp.0, exp_year: self.exp.1, cvc: self.cvc })
    }
}

fn parse_expiry(text: &str) -> Result<(u8, u16), String> {
    let (month, year) = text.split_once('/').ok_or("write the expiry as MM/YY")?;
    let month: u8 = month.trim().parse().map_err(|_| "the month must be a number")?;
    let year: u16 = year.trim().parse().map_err(|_| "the year must be a number")?;
    Ok((month, if year < 100 { 2000 + year } else { year }))
}

impl App {
    pub async fn pay(&self, args: PayArgs) -> anyhow::Result<Output> {
        let core = self.core().await?;
        let progress = if args.resume {
            match core.resume_payment(args.order).await.map_err(explain_payment)? {
                Some(progress) => progress,
                None => {
                    return Ok(Output::new(
                        "No payment is in progress for this order.",
                        serde_json::json!({ "status": "none" }),
                    ));
                }
            }
        } else {
            core.pay(args.order, args.card.details()?).await.map_err(explain_payment)?
        };
        let paid = format!("The car is being registered; `caas timeline {}` shows it.", args.order);
        Ok(Output::new(
            progress_text(&progress, &paid, &format!("caas pay {} --resume", args.order)),
            progress_json(&progress),
        ))
    }
}

/// What a payment's progress means to the customer: `paid` once it went through, `resume` the
/// command that finds out how a 3-D Secure check ended.
pub(crate) fn progress_text(progress: &PaymentProgress, paid: &str, resume: &str) -> String {
    match progress {
        PaymentProgress::Succeeded { payment_id } => format!("Paid ({payment_id}). {paid}"),
        PaymentProgress::Processing { payment_id } => {
            format!("Payment {payment_id} is being settled by the bank; you will be notified when it completes.")
        }
        PaymentProgress::RequiresAction { payment_id, url } => {
            format!("Your bank asks you to confirm payment {payment_id}: open {url}\nThen run `{resume}`.")
        }
    }
}

/// A payment's progress in one word, as scripts read it: `succeeded`, `processing` or
/// `requires_action`.
pub(crate) fn progress_word(progress: &PaymentProgress) -> &'static str {
    match progress {
        PaymentProgress::Succeeded { .. } => "succeeded",
        PaymentProgress::Processing { .. } => "processing",
        PaymentProgress::RequiresAction { .. } => "requires_action",
    }
}

/// A payment's progress for scripts: its word, the payment, and the bank's page when it asks.
pub(crate) fn progress_json(progress: &PaymentProgress) -> serde_json::Value {
    let status = progress_word(progress);
    match progress {
        PaymentProgress::Succeeded { payment_id } | PaymentProgress::Processing { payment_id } => {
            serde_json::json!({ "status": status, "payment_id": payment_id })
        }
        PaymentProgress::RequiresAction { payment_id, url } => {
            serde_json::json!({ "status": status, "payment_id": payment_id, "url": url })
        }
    }
}

/// A payment's failure; unreachable, it says that nothing new was charged and the same command
/// resumes the same payment.
pub(crate) fn explain_payment(error: CaasError) -> anyhow::Error {
    match error {
        error if error.is_unreachable() => {
            Failure::new(Exit::Offline, "offline", format!("{}: nothing new was charged", error.chain()))
                .with_fix("run the same command again later; it resumes the same payment")
                .into()
        }
        other => other.into(),
    }
}
