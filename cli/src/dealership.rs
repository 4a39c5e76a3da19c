//! `caas dealership`: the dealership's staff at the terminal: sales (new and from stock), the
//! reservation deposit, configurations the factory refused, the registry's refusals, the cars the
//! transport brings back and the desk's handover, and the workshop's visits.

use anyhow::Context as _;
use caas_core::FileSecretStore;
use caas_core::SecretStore as _;
use caas_core::protocol::api::{
    CustomerDetails, ErrorCode, Money, OrderView, RegisterSaleRequest, RegistrationDetails, StockVehicle,
    VehicleConfiguration,
};
use caas_mock::client::DealershipClient;
use clap::{Args, Subcommand};
use serde_json::json;
use uuid::Uuid;

use crate::App;
use crate::failure::{Failure, FixWhen as _};
use crate::output::{Output, lines};
use crate::roles::Role;
use crate::sandbox::order_line;

/// Where the staff token is kept, in the dealership role's secrets.
const STAFF_TOKEN: &str = "staff_token";

#[derive(Debug, Subcommand)]
pub enum DealershipCommand {
    /// Sign in as staff of a dealership (madrid-centro, valencia-puerto, lisboa-oriente).
    SignIn(StaffSignIn),
    /// Forget the staff token kept on this machine.
    SignOut,
    /// The dealership's orders.
    Orders,
    /// One order as the dealership sees it.
    Order { order: Uuid },
    /// Register a sale: the customer, the car's configuration and where it is delivered.
    Sale(SaleArgs),
    /// Record the reservation deposit; the platform then orders the car from the factory.
    Deposit {
        order: Uuid,
        #[command(flatten)]
        amount: AmountArgs,
    },
    /// Correct a configuration the factory refused; the platform orders again.
    Amend {
        order: Uuid,
        #[command(flatten)]
        configuration: ConfigurationArgs,
    },
    /// Place the order with the factory again, after the factory could not be reached.
    RetryFactory { order: Uuid },
    /// Complete or correct the owner's data the registry refused, and register again.
    RetryRegistration {
        order: Uuid,
        #[command(flatten)]
        registration: RegistrationArgs,
    },
    /// The dealership's cars for sale (back from customers who did not pay).
    Stock,
    /// Sell a stock car to a customer: no factory order, it is built already.
    SellStock {
        vin: String,
        #[command(flatten)]
        customer: CustomerArgs,
        /// Where the car is delivered (town or city).
        #[arg(long)]
        locality: String,
    },
    /// Receive a car the transport brought back (the customer was away, or the trip stopped).
    Receive { order: Uuid },
    /// Hand a car held at the dealership to its customer, on the code their app shows.
    HandOver { order: Uuid, code: String },
    /// The workshop records a service visit with the car's odometer and the work done.
    Visit {
        order: Uuid,
        #[arg(long)]
        km: u32,
        #[arg(long)]
        work: String,
    },
}

/// Either a dealership whose staff token the sandbox issues, or a token from elsewhere.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("from").required(true).multiple(false))]
pub struct StaffSignIn {
    /// The dealership, with --sandbox.
    #[arg(requires = "sandbox")]
    dealership: Option<String>,
    /// The staff token, when it comes from elsewhere (the dealership is the token's).
    #[arg(long, group = "from", env = "CAAS_STAFF_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Have the mock's sandbox issue a staff token (needs the sandbox token).
    #[arg(long, group = "from", requires = "dealership")]
    sandbox: bool,
}

#[derive(Debug, Args)]
pub struct CustomerArgs {
    #[arg(long)]
    email: String,
    #[arg(long)]
    name: String,
    /// Country of residence (ISO 3166-1 alpha-2).
    #[arg(long, default_value = "ES")]
    country: String,
    #[arg(long)]
    phone: Option<String>,
    #[command(flatten)]
    registration: RegistrationArgs,
}

/// What the vehicle registry needs of the owner: Spain's the DNI/NIE and the address, Portugal's
/// the NIF and the address.
#[derive(Debug, Args)]
pub struct RegistrationArgs {
    #[arg(long)]
    national_id: Option<String>,
    #[arg(long)]
    tax_number: Option<String>,
    #[arg(long)]
    address: Option<String>,
}

impl From<RegistrationArgs> for RegistrationDetails {
    fn from(args: RegistrationArgs) -> Self {
        RegistrationDetails { national_id: args.national_id, tax_number: args.tax_number, address: args.address }
    }
}

impl From<CustomerArgs> for CustomerDetails {
    fn from(args: CustomerArgs) -> Self {
        CustomerDetails {
            email: args.email,
            name: args.name,
            country: args.country,
            phone: args.phone,
            registration: args.registration.into(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ConfigurationArgs {
    /// The base platform: urban-ev, family-suv or cargo-van.
    #[arg(long)]
    model: String,
    /// A factory option (repeat for several).
    #[arg(long = "option")]
    options: Vec<String>,
}

impl From<ConfigurationArgs> for VehicleConfiguration {
    fn from(args: ConfigurationArgs) -> Self {
        VehicleConfiguration { base_platform: args.model, options: args.options }
    }
}

#[derive(Debug, Args)]
pub struct SaleArgs {
    #[command(flatten)]
    customer: CustomerArgs,
    #[command(flatten)]
    configuration: ConfigurationArgs,
    /// Where the car is delivered (town or city).
    #[arg(long)]
    locality: String,
}

#[derive(Debug, Args)]
pub struct AmountArgs {
    /// The deposit in major units, e.g. 1500 or 1500.50.
    #[arg(long, value_parser = parse_minor)]
    amount: i64,
    #[arg(long, default_value = "EUR")]
    currency: String,
}

/// An amount in major units with at most two decimals, in minor units.
fn parse_minor(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("write the amount as digits, e.g. 1500 or 1500.50".into());
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 2 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err("write the amount with at most two decimals, e.g. 1500.50".into());
    }
    let whole: i64 = whole.parse().map_err(|_| "the amount must be a number".to_owned())?;
    let cents: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents))
        .filter(|v| *v > 0)
        .ok_or_else(|| "the amount must be above 0".into())
}

fn order_output(done: &str, order: &OrderView) -> Output {
    Output::new(format!("{done}\n{}", order_line(order)), json!(order))
}

fn stock_line(car: &StockVehicle) -> String {
    format!("{}  {}  {}  {}", car.vin, car.configuration.base_platform, car.configuration.options.join(","), car.price)
}

impl App {
    fn staff_secrets(&self) -> anyhow::Result<FileSecretStore> {
        Ok(FileSecretStore::new(Role::Dealership.dir(&self.data_root).join("secrets"))?)
    }

    /// The staff client, from the token kept at sign-in.
    fn staff(&self) -> anyhow::Result<DealershipClient> {
        let token = self.staff_secrets()?.get(STAFF_TOKEN)?.ok_or_else(|| {
            Failure::refused("not_signed_in", "no dealership staff is signed in on this machine")
                .with_fix("run `caas dealership sign-in DEALERSHIP --sandbox` (or --token)")
        })?;
        Ok(DealershipClient::new(&self.backend, &token))
    }

    pub async fn dealership(&self, command: DealershipCommand) -> anyhow::Result<Output> {
        Ok(match command {
            DealershipCommand::SignIn(args) => self.staff_sign_in(args).await?,
            DealershipCommand::SignOut => {
                self.staff_secrets()?.delete(STAFF_TOKEN)?;
                Output::new("The staff token was forgotten.", json!({ "signed_out": true }))
            }
            DealershipCommand::Orders => {
                let orders = self.staff()?.orders().await?;
                let text = lines(orders.iter().map(order_line), "No orders yet.");
                Output::new(text, json!(orders))
            }
            DealershipCommand::Order { order } => {
                let view = self.staff()?.order(order).await?;
                Output::new(order_line(&view), json!(view))
            }
            DealershipCommand::Sale(args) => {
                let sale = RegisterSaleRequest {
                    customer: args.customer.into(),
                    configuration: args.configuration.into(),
                    delivery_locality: args.locality,
                };
                let order = self.staff()?.register_sale(&sale).await?;
                let price = order.price.as_ref().map_or_else(|| "?".into(), ToString::to_string);
                order_output(&format!("Sale registered: order {} at {price}.", order.id), &order)
            }
            DealershipCommand::Deposit { order, amount } => {
                let deposit = Money { amount_minor: amount.amount, currency: amount.currency };
                let view = self.staff()?.record_reservation(order, deposit.clone()).await?;
                order_output(&format!("Deposit of {deposit} recorded."), &view)
            }
            DealershipCommand::Amend { order, configuration } => {
                let view = self.staff()?.amend_configuration(order, configuration.into()).await?;
                order_output("Configuration amended and ordered again.", &view)
            }
            DealershipCommand::RetryFactory { order } => {
                order_output("Ordered from the factory again.", &self.staff()?.retry_factory_order(order).await?)
            }
            DealershipCommand::RetryRegistration { order, registration } => {
                let view = self.staff()?.retry_registration(order, &registration.into()).await?;
                order_output("Sent to the registry again.", &view)
            }
            DealershipCommand::Stock => {
                let stock = self.staff()?.stock().await?;
                let text = lines(stock.iter().map(stock_line), "No cars in stock.");
                Output::new(text, json!(stock))
            }
            DealershipCommand::SellStock { vin, customer, locality } => {
                let order = self.staff()?.sell_from_stock(&vin, customer.into(), &locality).await?;
                order_output(&format!("Sold {vin}: order {}.", order.id), &order)
            }
            DealershipCommand::Receive { order } => {
                order_output("The car is received and held at the dealership.", &self.staff()?.receive(order).await?)
            }
            DealershipCommand::HandOver { order, code } => {
                order_output("Handed over at the desk.", &self.staff()?.hand_over(order, &code).await?)
            }
            DealershipCommand::Visit { order, km, work } => {
                order_output("The visit is on the car's history.", &self.staff()?.record_visit(order, km, &work).await?)
            }
        })
    }

    async fn staff_sign_in(&self, args: StaffSignIn) -> anyhow::Result<Output> {
        let (token, issued_for) = match (args.token, args.dealership) {
            (Some(token), _) => (token, None),
            (None, Some(dealership)) => {
                let token = self.sandbox_client()?.staff_token(&dealership).await.fix_when(
                    ErrorCode::NotFound,
                    "check the dealership's id, e.g. madrid-centro; the new-sale form of the sandbox dashboard (/sandbox) lists them",
                )?;
                (token, Some(dealership))
            }
            (None, None) => {
                return Err(Failure::usage("give a DEALERSHIP with --sandbox, or --token")
                    .with_fix("`caas dealership sign-in madrid-centro --sandbox` against a mock")
                    .into());
            }
        };
        let staff = DealershipClient::new(&self.backend, &token);
        let orders = staff.orders().await.context("checking the staff token")?;
        self.staff_secrets()?.set(STAFF_TOKEN, &token)?;
        // A token from elsewhere names no dealership; the platform scopes it, so its orders say which.
        let dealership = issued_for.or_else(|| orders.first().map(|order| order.dealership.id.clone()));
        Ok(Output::new(
            format!(
                "Signed in as dealership staff{}; {} order(s).",
                dealership.as_deref().map(|id| format!(" of {id}")).unwrap_or_default(),
                orders.len()
            ),
            json!({ "dealership_id": dealership, "orders": orders.len() }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_in_major_units() {
        assert_eq!(parse_minor("1500"), Ok(150_000));
        assert_eq!(parse_minor("1500.5"), Ok(150_050));
        assert_eq!(parse_minor("0.99"), Ok(99));
        assert!(parse_minor("1500.505").is_err());
        assert!(parse_minor("-3").is_err());
        assert!(parse_minor("-0.5").is_err(), "a sign is never read past");
        assert!(parse_minor("+5").is_err());
        assert!(parse_minor("0").is_err());
        assert!(parse_minor("lots").is_err());
        assert!(parse_minor("99999999999999999999").is_err());
    }
}
