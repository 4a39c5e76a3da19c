//! `caas options`: what the car can take after delivery, buying an option, and handing the
//! options bought to the car over the link when the phone is near it.

use caas_core::protocol::messages::{self, Language};
use caas_core::protocol::options::{Availability, OptionCatalogue, OptionCode, OptionPurchase};
use caas_core::{OptionsActivation, PairingOptions};
use clap::{Args, Subcommand};
use serde_json::json;
use uuid::Uuid;

use crate::App;
use crate::failure::{Failure, pairing_code};
use crate::output::Output;
use crate::pair::{LinkArgs, StepPrinter, explain_pairing, spinner};
use crate::pay::{CardArgs, explain_payment, progress_json, progress_text};
use crate::render::plain;

#[derive(Debug, Subcommand)]
pub enum OptionsCommand {
    /// The options your car can take, with prices and what each needs, and those you bought.
    List { order: Uuid },
    /// Buy an option by card; the platform sends it to the car, or `caas options activate` hands
    /// it over near the car.
    Buy(BuyArgs),
    /// Hand the options you bought to the car over the link (works without signal), then read
    /// the car's status.
    Activate {
        order: Uuid,
        #[command(flatten)]
        link: LinkArgs,
    },
}

#[derive(Debug, Args)]
pub struct BuyArgs {
    order: Uuid,
    /// The option's code, as `caas options list` shows it.
    #[arg(value_parser = parse_option)]
    option: OptionCode,
    #[command(flatten)]
    card: CardArgs,
    /// Find out how the payment in progress for this option ended (after 3-D Secure).
    #[arg(long)]
    resume: bool,
}

fn parse_option(text: &str) -> Result<OptionCode, String> {
    OptionCode::parse(text).map_err(|e| e.to_string())
}

impl App {
    pub async fn options(&self, command: OptionsCommand) -> anyhow::Result<Output> {
        let core = self.core().await?;
        Ok(match command {
            OptionsCommand::List { order } => {
                let catalogue = core.option_catalogue(order).await?;
                let bought = core.order(order).await?.options;
                Output::new(catalogue_text(&catalogue, &bought), json!({ "catalogue": catalogue, "purchases": bought }))
            }
            OptionsCommand::Buy(args) => {
                let mut text = String::new();
                let progress = if args.resume {
                    match core.resume_option_payment(args.order, args.option.clone()).await.map_err(explain_payment)? {
                        Some(progress) => progress,
                        None => {
                            return Ok(Output::new(
                                "No payment is in progress for this option.",
                                json!({ "status": "none" }),
                            ));
                        }
                    }
                } else {
                    // At the price the catalogue shows now; the platform refuses any other.
                    let catalogue = core.option_catalogue(args.order).await?;
                    let offer =
                        catalogue.offers.into_iter().find(|offer| offer.code == args.option).ok_or_else(|| {
                            Failure::refused(
                                "option_unavailable",
                                format!("`{}` is not offered for this car", args.option),
                            )
                            .with_fix("see what the car can take with `caas options list ORDER`")
                        })?;
                    text = format!("{} for {}\n", plain(&offer.name), offer.price);
                    core.buy_option(args.order, args.option.clone(), offer.price, args.card.details()?)
                        .await
                        .map_err(explain_payment)?
                };
                let paid = format!(
                    "The option goes to your car over the connected-car network; near the car, \
                     `caas options activate {}` hands it over.",
                    args.order
                );
                let resume = format!("caas options buy {} {} --resume", args.order, args.option);
                text.push_str(&progress_text(&progress, &paid, &resume));
                Output::new(text, progress_json(&progress))
            }
            OptionsCommand::Activate { order, link } => {
                let transport = link.transport().await?;
                let spinner = spinner(self.json);
                let printer = StepPrinter(spinner.clone());
                let done = core
                    .activate_options(order, transport.as_ref(), PairingOptions::default(), Some(&printer))
                    .await
                    .map_err(explain_pairing)?;
                spinner.finish_and_clear();
                Output::new(activation_text(&done), activation_json(&done))
            }
        })
    }
}

/// An option's name for the terminal's reader.
pub(crate) fn name(option: &OptionCode) -> String {
    messages::capitalized(&messages::option_words(option, Language::English))
}

fn catalogue_text(catalogue: &OptionCatalogue, bought: &[OptionPurchase]) -> String {
    let mut out = String::from("Options for your car:\n");
    for offer in &catalogue.offers {
        let status = match &offer.availability {
            Availability::Available => format!("available: `caas options buy ORDER {}`", offer.code),
            Availability::Installed => "on your car".into(),
            Availability::Pending => "bought, on its way to the car".into(),
            Availability::NeedsWorkshop => "fitted at the dealership's workshop".into(),
            Availability::Requires { option } => format!("needs the {} first", name(option).to_lowercase()),
            Availability::ConflictsWith { option } => format!("cannot go with the {}", name(option).to_lowercase()),
            Availability::Unknown => "not offered by this version of the app".into(),
        };
        out.push_str(&format!("  {:<24} {:>14}  {status}\n", plain(&offer.name), offer.price.to_string()));
    }
    for purchase in bought {
        out.push_str(&crate::render::purchase_line(purchase));
    }
    out
}

fn activation_text(done: &OptionsActivation) -> String {
    if done.link.is_none() && done.refused.is_empty() {
        return "Nothing waits for the car: every option bought is active or refunded.\n".into();
    }
    let mut out = String::new();
    for option in &done.activated {
        out.push_str(&format!("Activated: {}\n", name(option)));
    }
    for (option, failure) in &done.refused {
        out.push_str(&format!("Not switched on: {} ({})\n", name(option), pairing_code(*failure)));
    }
    if done.status.is_some() {
        let active: Vec<String> = done.car_options.iter().map(name).collect();
        out.push_str(&format!(
            "The car lists {} active option(s){}\n",
            active.len(),
            if active.is_empty() { String::new() } else { format!(": {}", active.join(", ")) }
        ));
    }
    if !done.reported {
        out.push_str("No signal: the platform hears of it at the next `caas sync`.\n");
    }
    out
}

fn activation_json(done: &OptionsActivation) -> serde_json::Value {
    json!({
        "activated": done.activated,
        "refused": done.refused.iter().map(|(option, failure)| json!({ "option": option, "failure": pairing_code(*failure) })).collect::<Vec<_>>(),
        "car_options": done.car_options,
        "odometer_km": done.status.as_ref().map(|s| s.odometer_km),
        "reported": done.reported,
    })
}
