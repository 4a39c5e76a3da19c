//! `caas pay` and the sandbox controls a tester needs around it (3-D Secure, the platform clock).

use std::io::{BufRead as _, Write as _};

use anyhow::Context as _;
use caas_core::protocol::maintenance::WarningCode;
use caas_core::protocol::payment::CardDetails;
use caas_core::{CaasError, PaymentProgress, PaymentRefusal};
use caas_mock::client::SandboxClient;
use clap::{Args, Subcommand};
use uuid::Uuid;

use crate::customer::App;

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

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Pass or fail the bank's 3-D Secure check of a payment.
    ThreeDSecure {
        payment: String,
        #[arg(long, conflicts_with = "fail", required_unless_present = "fail")]
        pass: bool,
        #[arg(long)]
        fail: bool,
    },
    /// Take a car out of the connected-car network's reach (parked underground) or back into it.
    Coverage {
        vin: String,
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        on: bool,
        #[arg(long)]
        off: bool,
    },
    /// Drive a car: its odometer goes up, and it warns about what is given (none: all clear).
    Drive {
        vin: String,
        #[arg(long)]
        km: u32,
        /// tyre-pressure, brake-wear, battery-health or washer-fluid; repeat for several.
        #[arg(long = "warning", value_enum)]
        warnings: Vec<WarningArg>,
    },
    /// Move the platform's clock forward, e.g. past a payment deadline.
    Clock {
        #[arg(long, default_value_t = 0)]
        days: i64,
        #[arg(long, default_value_t = 0)]
        hours: i64,
    },
}

impl App {
    pub async fn pay(&self, args: PayArgs) -> anyhow::Result<()> {
        let core = self.core().await?;
        let progress = if args.resume {
            match core.resume_payment(args.order).await.map_err(explain_payment)? {
                Some(progress) => progress,
                None => {
                    println!("No payment is in progress for this order.");
                    return Ok(());
                }
            }
        } else {
            core.pay(args.order, args.card.details()?).await.map_err(explain_payment)?
        };
        let paid = format!("The car is being registered; `caas timeline {}` shows it.", args.order);
        println!("{}", progress_text(&progress, &paid, &format!("caas pay {} --resume", args.order)));
        Ok(())
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

/// A payment's progress for scripts: `succeeded`, `processing` or `requires_action` with the bank's
/// page.
pub(crate) fn progress_json(progress: &PaymentProgress) -> serde_json::Value {
    match progress {
        PaymentProgress::Succeeded { payment_id } => {
            serde_json::json!({ "status": "succeeded", "payment_id": payment_id })
        }
        PaymentProgress::Processing { payment_id } => {
            serde_json::json!({ "status": "processing", "payment_id": payment_id })
        }
        PaymentProgress::RequiresAction { payment_id, url } => {
            serde_json::json!({ "status": "requires_action", "payment_id": payment_id, "url": url })
        }
    }
}

/// Tells the customer what each refusal means and what to do.
pub(crate) fn explain_payment(error: CaasError) -> anyhow::Error {
    match error {
        CaasError::PaymentRefused { refusal, message } => {
            let advice = match refusal {
                PaymentRefusal::InvalidCard => "check the card number, expiry and security code",
                PaymentRefusal::CardDeclined => "the bank declined the card; try another card",
                PaymentRefusal::InsufficientFunds => "the card has insufficient funds; try another card",
                PaymentRefusal::AuthenticationFailed => "the bank could not confirm it was you; try again",
                PaymentRefusal::DeadlinePassed | PaymentRefusal::ReservationLost => {
                    "the reservation is lost; contact your dealership"
                }
                PaymentRefusal::AlreadyPaid => "nothing is left to pay",
                PaymentRefusal::NotPayable => "nothing is due yet",
                PaymentRefusal::AmountChanged => "the amount due changed; check the order and pay again",
                PaymentRefusal::OptionUnavailable => "see what the car can take with `caas options list ORDER`",
            };
            anyhow::anyhow!("payment refused: {message} ({advice})")
        }
        error if error.is_unreachable() => anyhow::anyhow!(
            "{}: nothing new was charged; run the same command again later, it resumes the same payment",
            error.chain()
        ),
        other => crate::customer::explain(other),
    }
}

pub(crate) fn prompt(question: &str) -> anyhow::Result<String> {
    print!("{question}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the answer")?;
    Ok(line.trim().to_owned())
}

/// A warning the sandbox can make a car give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WarningArg {
    TyrePressure,
    BrakeWear,
    BatteryHealth,
    WasherFluid,
}

impl From<WarningArg> for WarningCode {
    fn from(warning: WarningArg) -> Self {
        match warning {
            WarningArg::TyrePressure => WarningCode::TyrePressure,
            WarningArg::BrakeWear => WarningCode::BrakeWear,
            WarningArg::BatteryHealth => WarningCode::BatteryHealth,
            WarningArg::WasherFluid => WarningCode::WasherFluid,
        }
    }
}

pub async fn sandbox(backend: &str, token: Option<String>, command: SandboxCommand) -> anyhow::Result<()> {
    let token = token.context("the sandbox needs its token: --sandbox-token or CAAS_SANDBOX_TOKEN")?;
    let sandbox = SandboxClient::new(backend, &token);
    match command {
        SandboxCommand::ThreeDSecure { payment, pass, .. } => {
            let payment = sandbox.complete_three_d_secure(&payment, pass).await?;
            println!(
                "3-D Secure {}: payment {} is {}",
                if pass { "passed" } else { "failed" },
                payment.id,
                payment.status.wire_name()
            );
        }
        SandboxCommand::Coverage { vin, on, .. } => {
            sandbox.set_coverage(&vin, on).await?;
            println!("{vin} is {} the connected-car network's reach", if on { "back in" } else { "out of" });
        }
        SandboxCommand::Drive { vin, km, warnings } => {
            let warnings: Vec<WarningCode> = warnings.into_iter().map(WarningCode::from).collect();
            sandbox.drive(&vin, km, &warnings).await?;
            println!("{vin} drove {km} km{}", if warnings.is_empty() { "" } else { " and warns" });
        }
        SandboxCommand::Clock { days, hours } => {
            let now = sandbox.advance_clock(days * 86_400 + hours * 3_600).await?;
            println!("The platform's clock now reads {}", now["now"].as_str().unwrap_or("?"));
        }
    }
    Ok(())
}
