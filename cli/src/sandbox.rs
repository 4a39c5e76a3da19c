//! `caas sandbox` and `caas factory`: the test-mode controls of a mock platform, for a developer
//! playing every party the app meets (the factory, the gateway, the registries, the cars) and
//! every fault they can have.

use caas_core::protocol::OrderState;
use caas_core::protocol::api::{ErrorCode, EventKind, Money, OrderEvent, OrderView};
use caas_core::protocol::maintenance::WarningCode;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::App;
use crate::failure::{Exit, Failure, FixWhen as _};
use crate::output::{Output, lines};

#[derive(Debug, Subcommand)]
pub enum FactoryCommand {
    /// Move the order's production on: one stage, or up to --to.
    Advance {
        order: Uuid,
        /// in-production, assembly, quality-control, manufacturing-complete or dispatched-to-locality.
        #[arg(long, value_parser = parse_state)]
        to: Option<OrderState>,
    },
    /// The factory revises its estimate by DAYS (negative brings it forward), with a reason.
    Delay {
        order: Uuid,
        #[arg(long, allow_hyphen_values = true)]
        days: i64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Every order on the platform, with its state.
    Orders,
    /// An order's whole record, event by event.
    Events { order: Uuid },
    /// Append an event of a TYPE this platform does not know, as a newer platform would (the
    /// customer's devices get its push), to watch today's app keep working.
    PlayEvent {
        order: Uuid,
        /// Lowercase letters, digits and `_`, e.g. `loyalty_points_awarded`.
        #[arg(value_name = "TYPE")]
        kind: String,
        /// The event's other fields, as a JSON object (at most 8 KiB).
        #[arg(long, value_name = "JSON", value_parser = parse_fields, default_value = "{}")]
        fields: serde_json::Map<String, Value>,
    },
    /// Rewrite an order's history as no platform may: the event at VERSION is dated a day earlier
    /// and the record signed again from there, so a phone that synced it refuses the new one.
    RewriteHistory {
        order: Uuid,
        /// The event to change (`caas sandbox events ORDER` lists them).
        #[arg(value_name = "VERSION", value_parser = clap::value_parser!(u64).range(1..))]
        event: u64,
    },
    /// Issue a genuine handover code for an order's delivery, back-dated to try what a driver's
    /// phone does with an old or expired one (a code lasts 15 minutes).
    HandoverCode {
        order: Uuid,
        /// Date it this many minutes back (0 to 1440).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1440))]
        minutes_ago: u16,
        /// The public key (base64url) of the phone that holds it, as the customer's phone names itself.
        #[arg(long)]
        holder_key: Option<String>,
    },
    /// The sign-in code last emailed to EMAIL (customers, drivers).
    Code { email: String },
    /// How many sessions of a customer or a driver still work (signing out ends them).
    Sessions { email: String },
    /// The push, email and SMS log, oldest first.
    Messages {
        #[arg(long)]
        order: Option<Uuid>,
        #[arg(long, value_enum)]
        channel: Option<Channel>,
    },
    /// The legal next steps of an order, who takes each, and whether the sandbox can.
    Steps { order: Uuid },
    /// Take one of the order's legal next steps by the state it leads to (e.g. `in-transit`), as
    /// the party it belongs to would.
    Step {
        order: Uuid,
        #[arg(value_parser = parse_state)]
        to: OrderState,
    },
    /// Wait until an order reaches a state (for scripts: the platform's own steps take a moment).
    Wait {
        order: Uuid,
        #[arg(value_parser = parse_state)]
        state: OrderState,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout: u64,
    },
    /// Let a simulated driver play an order's delivery by itself, or stop it.
    Robot(RobotArgs),
    /// Pass or fail the bank's 3-D Secure check of a payment.
    ThreeDSecure {
        payment: String,
        #[arg(long, conflicts_with = "fail", required_unless_present = "fail")]
        pass: bool,
        #[arg(long)]
        fail: bool,
    },
    /// The money the gateway actually took, for one order or all.
    Ledger {
        #[arg(long)]
        order: Option<Uuid>,
    },
    /// Arm one of the platform's faults.
    Fault {
        #[command(subcommand)]
        fault: Fault,
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
        /// Repeat for several.
        #[arg(long = "warning", value_enum)]
        warnings: Vec<WarningArg>,
    },
    /// What a simulated car holds: whether it is on the air, its linked phones, its options.
    Car { vin: String },
    /// Revoke a phone key of a car (its grant id, from `caas timeline` or the dashboard).
    RevokeKey { grant: Uuid },
    /// Move the platform's clock forward, e.g. past a payment deadline (reminders and deadlines
    /// that fall due are applied).
    Clock(ClockArgs),
}

#[derive(Debug, Args)]
pub struct RobotArgs {
    order: Uuid,
    #[arg(long, conflicts_with = "off", required_unless_present = "off")]
    on: bool,
    #[arg(long)]
    off: bool,
    /// What the robot does at the door.
    #[arg(long, value_enum, default_value_t = RobotScenario::Deliver, conflicts_with = "off")]
    scenario: RobotScenario,
}

/// What the robot courier does at the customer's door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RobotScenario {
    /// Waits for the customer's app to show its handover code, and hands the car over.
    Deliver,
    /// Nobody takes the car; a new time is agreed on the phone.
    AbsentReschedule,
    /// Nobody answers: the car goes back to the dealership.
    AbsentUnreachable,
}

impl RobotScenario {
    fn wire_name(self) -> &'static str {
        match self {
            RobotScenario::Deliver => "deliver",
            RobotScenario::AbsentReschedule => "absent_reschedule",
            RobotScenario::AbsentUnreachable => "absent_unreachable",
        }
    }
}

/// How far the clock moves: at least one of the two.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct ClockArgs {
    #[arg(long)]
    days: Option<u32>,
    #[arg(long)]
    hours: Option<u32>,
}

impl ClockArgs {
    fn seconds(&self) -> anyhow::Result<i64> {
        let seconds = i64::from(self.days.unwrap_or(0)) * 86_400 + i64::from(self.hours.unwrap_or(0)) * 3_600;
        if seconds == 0 {
            return Err(Failure::usage("the clock only moves forward: give --days or --hours above 0")
                .with_fix("e.g. `caas sandbox clock --days 1`")
                .into());
        }
        Ok(seconds)
    }
}

#[derive(Debug, Subcommand)]
pub enum Fault {
    /// The next COUNT charges take the money, then lose their answer.
    Payments {
        #[arg(long)]
        drop_answers: u32,
    },
    /// Charge an order's final amount a second time, as another channel might.
    DuplicateCharge { order: Uuid },
    /// The next COUNT submissions to a country's registry (ES, PT) fail transiently.
    Registry {
        country: String,
        #[arg(long)]
        fail: u32,
    },
    /// Driver actions: the next COUNT are applied and lose their answer, or the next one is
    /// answered with a status (and error code) without being applied.
    Driver(DriverFaultArgs),
    /// A car's next COUNT replies are lost on the air after it acted.
    Car {
        vin: String,
        #[arg(long)]
        drop_replies: u32,
    },
    /// Take the payment gateway down (every charge fails with payment_gateway_unavailable and
    /// nothing is taken) or bring it back.
    Gateway(Outage),
    /// Take the factory down (new factory orders fail with factory_unavailable, the deposit kept,
    /// until `caas dealership retry-factory ORDER` once it is back) or bring it back.
    Factory(Outage),
}

/// A service going down (`--on`) or coming back (`--off`): exactly one.
#[derive(Debug, Args)]
pub struct Outage {
    /// Down.
    #[arg(long, conflicts_with = "off", required_unless_present = "off")]
    on: bool,
    /// Back up.
    #[arg(long)]
    off: bool,
}

/// Exactly one of `--drop-answers` and `--answer-status`; the code and `Retry-After` go with the
/// status.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("how").required(true).multiple(false))]
pub struct DriverFaultArgs {
    #[arg(long, group = "how")]
    drop_answers: Option<u32>,
    /// 400 to 599.
    #[arg(long, group = "how")]
    answer_status: Option<u16>,
    #[arg(long, requires = "answer_status")]
    answer_code: Option<String>,
    #[arg(long, requires = "answer_status")]
    retry_after: Option<u32>,
}

/// A channel of the message log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Channel {
    Fcm,
    Apns,
    Sse,
    Email,
    Sms,
}

impl Channel {
    fn wire_name(self) -> &'static str {
        match self {
            Channel::Fcm => "fcm",
            Channel::Apns => "apns",
            Channel::Sse => "sse",
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// A warning the sandbox can make a car give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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

/// A state by its wire name, with dashes or underscores (`in-transit`, `in_transit`).
pub fn parse_state(text: &str) -> Result<OrderState, String> {
    let wire = text.trim().replace('-', "_");
    match wire.parse::<OrderState>() {
        Ok(OrderState::Unknown) | Err(_) => Err(format!("`{text}` is not a state of the order's lifecycle")),
        Ok(state) => Ok(state),
    }
}

/// An order as one line: id, state, model, customer.
pub fn order_line(order: &OrderView) -> String {
    format!(
        "{}  {:<28} {}  {}",
        order.id,
        order.state.wire_name(),
        order.configuration.base_platform,
        order.vin.as_deref().unwrap_or("(no VIN yet)")
    )
}

fn order_output(done: &str, order: &OrderView) -> Output {
    Output::new(format!("{done}\n{}", order_line(order)), json!(order))
}

impl App {
    pub async fn factory(&self, command: FactoryCommand) -> anyhow::Result<Output> {
        let sandbox = self.sandbox_client()?;
        Ok(match command {
            FactoryCommand::Advance { order, to } => {
                if to.is_some_and(|to| !to.is_factory_stage()) {
                    return Err(Failure::usage("--to must be one of the factory's stages")
                        .with_fix(
                            "give in-production, assembly, quality-control, manufacturing-complete or \
                             dispatched-to-locality; `caas sandbox step ORDER STATE` takes the other steps",
                        )
                        .into());
                }
                let view = sandbox.advance_factory(order, to).await?;
                order_output("The factory moved the order on.", &view)
            }
            FactoryCommand::Delay { order, days, reason } => {
                let view = sandbox.delay_factory(order, days, &reason).await?;
                order_output(&format!("The factory revised its estimate by {days} day(s)."), &view)
            }
        })
    }

    pub async fn sandbox(&self, command: SandboxCommand) -> anyhow::Result<Output> {
        let sandbox = self.sandbox_client()?;
        Ok(match command {
            SandboxCommand::Orders => {
                let orders = sandbox.orders().await?;
                let text = lines(orders.iter().map(order_line), "No orders yet.");
                Output::new(text, json!(orders))
            }
            SandboxCommand::Events { order } => {
                let events = sandbox.order_events(order).await?;
                Output::new(lines(events.iter().map(event_line), "No events."), json!(events))
            }
            SandboxCommand::PlayEvent { order, kind, fields } => {
                let event = sandbox.append_event(order, &kind, fields).await.fix_when(
                    ErrorCode::InvalidRequest,
                    "give a TYPE of lowercase letters, digits and `_` that this platform does not know, and \
                     --fields as a JSON object without the platform's own fields (event_id, order_id, version, \
                     occurred_at, prev)",
                )?;
                Output::new(
                    format!("Played on order {order} and pushed to the customer's devices:\n{}", event_line(&event)),
                    json!(event),
                )
            }
            SandboxCommand::RewriteHistory { order, event } => {
                let rewritten = sandbox.rewrite_history(order, event).await.fix_when(
                    ErrorCode::NotFound,
                    "check the order and give a VERSION `caas sandbox events ORDER` lists",
                )?;
                Output::new(
                    format!(
                        "Rewritten from v{event} on; a phone that synced refuses the order's record at its next sync:\n{}",
                        event_line(&rewritten)
                    ),
                    json!(rewritten),
                )
            }
            SandboxCommand::HandoverCode { order, minutes_ago, holder_key } => {
                let code = sandbox.handover_code(order, i64::from(minutes_ago), holder_key.as_deref()).await.fix_when(
                    ErrorCode::NotFound,
                    "check the order (`caas sandbox orders`); it has a delivery from transport-scheduled on",
                )?;
                crate::delivery::code_output(&code)?
            }
            SandboxCommand::Code { email } => {
                let code = sandbox.sign_in_code(&email).await.fix_when(
                    ErrorCode::NotFound,
                    "no code waits for that address: `caas sign-in EMAIL --sandbox` (a driver: `caas driver \
                     sign-in EMAIL --sandbox`) asks for one and reads it",
                )?;
                Output::new(code.clone(), json!({ "email": email, "code": code }))
            }
            SandboxCommand::Sessions { email } => {
                let live = sandbox.live_sessions(&email).await?;
                Output::new(format!("{email} has {live} live session(s)."), json!({ "email": email, "live": live }))
            }
            SandboxCommand::Messages { order, channel } => {
                let messages = sandbox.messages(order, channel.map(Channel::wire_name)).await?;
                let text = lines(messages.iter().map(message_line), "No messages.");
                Output::new(text, json!(messages))
            }
            SandboxCommand::Steps { order } => {
                let steps = sandbox.next_steps(order).await?;
                let text = lines(steps.iter().map(step_line), "No step can follow: the order's journey has ended.");
                Output::new(text, json!(steps))
            }
            SandboxCommand::Step { order, to } => {
                let view = sandbox.take_step(order, to).await?;
                order_output(&format!("Step taken: the order is now {}.", view.state.wire_name()), &view)
            }
            SandboxCommand::Wait { order, state, timeout } => {
                // Reached at any time, not only now: a state the robot or the platform passes
                // through within a tick still counts.
                let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(timeout);
                loop {
                    let events = sandbox.order_events(order).await?;
                    let reached =
                        events.iter().find(|e| matches!(e.kind, EventKind::StateChanged { to, .. } if to == state));
                    if let Some(event) = reached {
                        break Output::new(
                            format!(
                                "Order {order} reached {} at {} UTC.",
                                state.wire_name(),
                                event.occurred_at.format("%Y-%m-%d %H:%M:%S")
                            ),
                            json!({ "order_id": order, "state": state, "reached_at": event.occurred_at, "version": event.version }),
                        );
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Err(Failure::new(
                            Exit::Offline,
                            "timed_out",
                            format!("order {order} has not reached {} after {timeout} s", state.wire_name()),
                        )
                        .with_fix("see what it waits for with `caas sandbox steps ORDER`")
                        .into());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
            SandboxCommand::Robot(args) => {
                let scenario = args.scenario.wire_name();
                sandbox.robot_courier(args.order, args.on, scenario).await?;
                let text = match args.on {
                    true => format!("A robot courier plays the delivery of {} ({scenario}).", args.order),
                    false => format!("The robot courier of {} stopped.", args.order),
                };
                Output::new(text, json!({ "order_id": args.order, "enabled": args.on, "scenario": scenario }))
            }
            SandboxCommand::ThreeDSecure { payment, pass, .. } => {
                let payment = sandbox
                    .complete_three_d_secure(&payment, pass)
                    .await
                    .fix_when(ErrorCode::NotFound, "give the payment id (`pi_...`) that `caas pay` printed")?;
                Output::new(
                    format!(
                        "3-D Secure {}: payment {} is {}",
                        if pass { "passed" } else { "failed" },
                        payment.id,
                        payment.status.wire_name()
                    ),
                    json!(payment),
                )
            }
            SandboxCommand::Ledger { order } => {
                let ledger = sandbox.ledger(order).await?;
                let text = lines(ledger.iter().map(charge_line), "No charges.");
                Output::new(text, json!(ledger))
            }
            SandboxCommand::Fault { fault } => self.fault(&sandbox, fault).await?,
            SandboxCommand::Coverage { vin, on, .. } => {
                sandbox.set_coverage(&vin, on).await.fix_when(ErrorCode::NotFound, UNKNOWN_VIN)?;
                Output::new(
                    format!("{vin} is {} the connected-car network's reach", if on { "back in" } else { "out of" }),
                    json!({ "vin": vin, "connected": on }),
                )
            }
            SandboxCommand::Drive { vin, km, warnings } => {
                let warnings: Vec<WarningCode> = warnings.into_iter().map(WarningCode::from).collect();
                sandbox.drive(&vin, km, &warnings).await.fix_when(ErrorCode::NotFound, UNKNOWN_VIN)?;
                Output::new(
                    format!("{vin} drove {km} km{}", if warnings.is_empty() { "" } else { " and warns" }),
                    json!({ "vin": vin, "km": km, "warnings": warnings }),
                )
            }
            SandboxCommand::Car { vin } => {
                let car = sandbox.vehicle(&vin).await.fix_when(ErrorCode::NotFound, UNKNOWN_VIN)?;
                Output::new(
                    format!(
                        "{}: {}, {} linked phone(s), options [{}], {}",
                        car.vin,
                        if car.on_air { "on the air" } else { "not delivered yet" },
                        car.linked_phones,
                        car.options.join(", "),
                        if car.connected { "in coverage" } else { "out of coverage" }
                    ),
                    json!(car),
                )
            }
            SandboxCommand::RevokeKey { grant } => {
                sandbox.revoke_grant(grant).await.fix_when(
                    ErrorCode::NotFound,
                    "give a phone key's grant id, as `caas timeline ORDER` lists them",
                )?;
                Output::new(
                    format!("Phone key {grant} revoked: the car refuses it from its next command."),
                    json!({ "grant_id": grant, "revoked": true }),
                )
            }
            SandboxCommand::Clock(args) => {
                let now = sandbox.advance_clock(args.seconds()?).await?;
                Output::new(format!("The platform's clock now reads {}", now["now"].as_str().unwrap_or("?")), now)
            }
        })
    }

    async fn fault(&self, sandbox: &caas_mock::client::SandboxClient, fault: Fault) -> anyhow::Result<Output> {
        Ok(match fault {
            Fault::Payments { drop_answers } => {
                sandbox.drop_payment_answers(drop_answers).await?;
                Output::new(
                    format!("The next {drop_answers} charge(s) take the money and lose their answer."),
                    json!({ "fault": "payments", "drop_answers": drop_answers }),
                )
            }
            Fault::DuplicateCharge { order } => {
                let payment = sandbox.duplicate_charge(order).await?;
                Output::new(format!("Charged order {order} again: payment {}.", payment.id), json!(payment))
            }
            Fault::Registry { country, fail } => {
                sandbox.fail_registry(&country, fail).await?;
                Output::new(
                    format!("The next {fail} submission(s) to the {country} registry fail transiently."),
                    json!({ "fault": "registry", "country": country, "fail": fail }),
                )
            }
            Fault::Driver(DriverFaultArgs { drop_answers: Some(count), .. }) => {
                sandbox.drop_driver_answers(count).await?;
                Output::new(
                    format!("The next {count} driver action(s) are applied and lose their answer."),
                    json!({ "fault": "driver", "drop_answers": count }),
                )
            }
            Fault::Driver(DriverFaultArgs { answer_status, answer_code, retry_after, .. }) => {
                let status = answer_status.ok_or_else(|| {
                    Failure::usage("give --drop-answers or --answer-status")
                        .with_fix("e.g. `caas sandbox fault driver --answer-status 503 --retry-after 30`")
                })?;
                sandbox.answer_next_driver_action(status, answer_code.as_deref(), retry_after).await?;
                Output::new(
                    format!("The next driver action is answered {status} without being applied."),
                    json!({ "fault": "driver", "answer_status": status, "answer_code": answer_code,
                            "retry_after": retry_after }),
                )
            }
            Fault::Gateway(Outage { on, .. }) => {
                sandbox.set_gateway_unavailable(on).await?;
                let text = match on {
                    true => "The payment gateway is down: every charge fails and nothing is taken.",
                    false => "The payment gateway is back: charges go through again.",
                };
                Output::new(text, json!({ "fault": "gateway", "unavailable": on }))
            }
            Fault::Factory(Outage { on, .. }) => {
                sandbox.set_factory_unavailable(on).await?;
                let text = match on {
                    true => "The factory is down: new factory orders fail; the deposits are kept.",
                    false => "The factory is back: retry a failed order with `caas dealership retry-factory ORDER`.",
                };
                Output::new(text, json!({ "fault": "factory", "unavailable": on }))
            }
            Fault::Car { vin, drop_replies } => {
                sandbox.drop_vehicle_replies(&vin, drop_replies).await.fix_when(ErrorCode::NotFound, UNKNOWN_VIN)?;
                Output::new(
                    format!("{vin}'s next {drop_replies} replies are lost on the air."),
                    json!({ "fault": "car", "vin": vin, "drop_replies": drop_replies }),
                )
            }
        })
    }
}

/// The fix of a VIN the platform has no car for.
const UNKNOWN_VIN: &str = "check the VIN: `caas sandbox orders` shows each order's car once it has one";

/// An event of an order's record: version, time, type.
fn event_line(event: &OrderEvent) -> String {
    format!("v{:<3} {}  {}", event.version, event.occurred_at.format("%Y-%m-%d %H:%M:%S"), event.kind.type_name())
}

/// `--fields` of a played event: a JSON object.
fn parse_fields(text: &str) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_str(text) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err("give a JSON object, e.g. '{\"points\": 120}'".to_owned()),
        Err(error) => Err(format!("not JSON: {error}")),
    }
}

fn message_line(message: &Value) -> String {
    format!(
        "#{:<5} {:<5} {:<28} {}",
        message["seq"],
        message["channel"].as_str().unwrap_or("?"),
        message["recipient"].as_str().unwrap_or("?"),
        crate::listen::summary(&message["payload"])
    )
}

/// A charge the gateway took: its payment, order, amount, when, and its refund if any.
fn charge_line(charge: &Value) -> String {
    let amount = serde_json::from_value::<Money>(charge["amount"].clone())
        .map_or_else(|_| charge["amount"].to_string(), |amount| amount.to_string());
    let refunded = charge["refunded_at"].as_str().map(|at| format!("  refunded {at}")).unwrap_or_default();
    format!(
        "{}  order {}  {amount}  charged {}{refunded}",
        charge["intent_id"].as_str().unwrap_or("?"),
        charge["order_id"].as_str().unwrap_or("?"),
        charge["charged_at"].as_str().unwrap_or("?")
    )
}

fn step_line(step: &Value) -> String {
    let to = step["to"].as_str().unwrap_or("?");
    let by = step["by"].as_str().unwrap_or("?");
    let note = step["note"].as_str().unwrap_or("");
    match step["takeable"].as_bool() {
        Some(false) => format!("{to:<28} by {by:<16} (not from the sandbox) {note}"),
        _ => format!("{to:<28} by {by:<16} `caas sandbox step ORDER {}`  {note}", to.replace('_', "-")),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::Cli;

    /// Issue 16: `caas sandbox clock` with no flag sent 0 seconds and got a 422 from the platform.
    #[test]
    fn the_clock_needs_a_flag_and_moves_forward_only() {
        assert!(Cli::try_parse_from(["caas", "sandbox", "clock"]).is_err(), "no flag is a usage error");
        let cli = Cli::try_parse_from(["caas", "sandbox", "clock", "--days", "0"]).expect("parses");
        let crate::Command::Sandbox { command: SandboxCommand::Clock(args) } = cli.command else {
            panic!("parsed as {:?}", cli.command)
        };
        assert!(args.seconds().is_err(), "zero is refused before anything is sent");
        assert!(Cli::try_parse_from(["caas", "sandbox", "clock", "--hours", "-3"]).is_err(), "no going back");
        let cli = Cli::try_parse_from(["caas", "sandbox", "clock", "--days", "1", "--hours", "2"]).expect("parses");
        let crate::Command::Sandbox { command: SandboxCommand::Clock(args) } = cli.command else {
            panic!("parsed as {:?}", cli.command)
        };
        assert_eq!(args.seconds().expect("forward"), 93_600);
    }

    #[test]
    fn a_driver_fault_is_one_of_two_and_the_status_takes_its_code_and_pause() {
        let parse = |args: &[&str]| Cli::try_parse_from(["caas", "sandbox", "fault", "driver"].iter().chain(args));
        assert!(parse(&["--answer-status", "503", "--answer-code", "overloaded", "--retry-after", "30"]).is_ok());
        assert!(parse(&["--drop-answers", "2"]).is_ok());
        assert!(parse(&[]).is_err(), "one is needed");
        assert!(parse(&["--drop-answers", "2", "--answer-status", "503"]).is_err(), "not both");
        assert!(parse(&["--answer-code", "overloaded"]).is_err(), "a code goes with a status");
    }

    #[test]
    fn an_outage_is_switched_on_or_off_never_both_nor_neither() {
        for service in ["gateway", "factory"] {
            let parse = |args: &[&str]| Cli::try_parse_from(["caas", "sandbox", "fault", service].iter().chain(args));
            assert!(parse(&["--on"]).is_ok() && parse(&["--off"]).is_ok(), "{service}");
            assert!(parse(&[]).is_err(), "{service}: one is needed");
            assert!(parse(&["--on", "--off"]).is_err(), "{service}: not both");
        }
    }

    #[test]
    fn states_are_named_with_dashes_or_underscores() {
        assert_eq!(parse_state("in-transit"), Ok(OrderState::InTransit));
        assert_eq!(parse_state("held_at_dealership"), Ok(OrderState::HeldAtDealership));
        assert!(parse_state("unknown").is_err());
        assert!(parse_state("teleported").is_err());
    }
}
