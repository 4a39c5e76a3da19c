//! The words the dashboard shows for the platform's values: states and events as the customer's
//! own messages name them (in English), parties, options, money and times, and the platform's
//! refusals with the fields they name as the form labels them. Wire names appear only where the
//! platform has no words (a newer platform's state or event).

use caas_protocol::api::{ErrorCode, EventKind, Money};
use caas_protocol::messages::{Language, Reader, capitalized, event_sentence, state_label};
use caas_protocol::{Actor, OrderState};
use chrono::{DateTime, Utc};

use super::form::Field;
use crate::error::AppError;
use crate::platform::robot_courier::RobotScenario;

const LANGUAGE: Language = Language::English;

/// A state in words.
pub fn state(state: OrderState) -> &'static str {
    state_label(state, LANGUAGE)
}

/// The platform's free text (a step's note, a blocker) with the states it quotes by wire name
/// (`in_production`) in words (“In production”), and no other code quotes.
pub fn prose(text: &str) -> String {
    words(text, &[])
}

/// `text` with its quoted states in words, the fields it quotes by their API path
/// (`customer.phone`) as `fields` label them (“Phone”), or else as words (a path's last part).
fn words(text: &str, fields: &[Field]) -> String {
    let mut out = String::with_capacity(text.len());
    // Split on backticks: the odd parts were quoted.
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
            continue;
        }
        let field = fields.iter().find(|field| field.api.contains(&part) || field.name == part);
        match (part.parse::<OrderState>(), field) {
            (_, Some(field)) => quote(&mut out, field.label),
            (Ok(quoted), None) if quoted != OrderState::Unknown => quote(&mut out, state(quoted)),
            _ if is_path(part) => quote(&mut out, &path_words(part)),
            _ => out.push_str(part),
        }
    }
    out
}

fn quote(out: &mut String, words: &str) {
    out.push('“');
    out.push_str(words);
    out.push('”');
}

/// Whether quoted text is a field's path (`customer.registration.national_id`, `options[]`).
fn is_path(text: &str) -> bool {
    !text.is_empty()
        && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '[' | ']'))
        && text.chars().any(|c| matches!(c, '_' | '.'))
}

/// A path's last part in words: `customer.registration.national_id` → `National id`.
fn path_words(path: &str) -> String {
    let last = path.trim_end_matches("[]").rsplit('.').next().unwrap_or(path);
    capitalized(&last.replace('_', " "))
}

/// A refusal of the platform as the dashboard says it: in words, with the fields it names as
/// `fields` (the form's) label them; a failure inside the platform or of a service it calls is
/// said without its technical reason (the mock's log has it).
pub fn refusal(error: &AppError, fields: &[Field]) -> String {
    let text = match error.code {
        ErrorCode::Internal => "Something went wrong inside the platform; the mock's log says what.".to_owned(),
        ErrorCode::PaymentGatewayUnavailable => "The payment gateway did not answer as expected; try again.".to_owned(),
        ErrorCode::FactoryUnavailable => "The factory did not answer as expected; try again.".to_owned(),
        _ => words(&error.message, fields),
    };
    capitalized(&text)
}

/// Who takes a step, in words.
pub fn actor(actor: Actor) -> &'static str {
    match actor {
        Actor::Dealership => "the dealership",
        Actor::Platform => "the platform",
        Actor::Factory => "the factory",
        Actor::PaymentGateway => "the payment gateway",
        Actor::Registry => "the registry",
        Actor::Driver => "the driver",
        Actor::Customer => "the customer",
        Actor::Unknown => "another party",
    }
}

/// What a robot courier plays at the customer's door, in words.
pub fn robot_scenario(scenario: RobotScenario) -> &'static str {
    match scenario {
        RobotScenario::Deliver => "the customer takes the car on their app's handover code",
        RobotScenario::AbsentReschedule => "nobody at the door, a new time agreed on the phone",
        RobotScenario::AbsentUnreachable => "nobody at the door nor on the phone, the car taken back",
    }
}

/// An event of an order's log, as its customer reads it.
pub fn event(kind: &EventKind) -> String {
    event_sentence(kind, &Reader::in_utc(LANGUAGE))
}

/// A catalogue id (`heat-pump`) in words (`Heat pump`).
pub fn option(id: &str) -> String {
    let words = id.replace(['-', '_'], " ");
    let mut chars = words.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

pub fn money(money: &Money) -> String {
    Reader::in_utc(LANGUAGE).money(money)
}

/// A time to the second, in UTC.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A stored RFC 3339 time, in the same words; as stored when it cannot be read.
pub fn stored_time(at: &str) -> String {
    DateTime::parse_from_rfc3339(at).map(|t| time(t.to_utc())).unwrap_or_else(|_| at.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_words() {
        assert_eq!(state(OrderState::AwaitingFinalPayment), "Awaiting final payment");
        assert_eq!(actor(Actor::PaymentGateway), "the payment gateway");
        assert_eq!(option("long-range-battery"), "Long range battery");
        assert_eq!(
            prose("an order in `delivered` cannot move to `in_production`; see `next-steps`"),
            "an order in “Delivered” cannot move to “In production”; see next-steps"
        );
        assert_eq!(money(&Money { amount_minor: 2_840_000, currency: "EUR".into() }), "€28,400.00");
    }

    #[test]
    fn a_refusal_names_fields_as_the_form_labels_them() {
        const PHONE: Field = Field { name: "phone", label: "Phone", api: &["customer.phone"] };
        const DROPS: Field = Field { name: "drop_answers", label: "Charges that lose their answer", api: &[] };
        let phone = AppError::invalid("`customer.phone` must be in E.164 form, e.g. +34600123456");
        assert_eq!(refusal(&phone, &[PHONE]), "“Phone” must be in E.164 form, e.g. +34600123456");
        let drops = AppError::invalid("`drop_answers` is at most 100");
        assert_eq!(refusal(&drops, &[DROPS]), "“Charges that lose their answer” is at most 100");
        assert_eq!(refusal(&drops, &[]), "“Drop answers” is at most 100", "a field of no form, in words");
        let unknown = AppError::invalid("`customer.registration.national_id` must be 1 to 32 printable characters");
        assert_eq!(refusal(&unknown, &[]), "“National id” must be 1 to 32 printable characters");
        let state = AppError::invalid("an order in `delivered` cannot move on");
        assert_eq!(refusal(&state, &[]), "An order in “Delivered” cannot move on");
        let stored = AppError::from(rusqlite::Error::InvalidQuery);
        assert_eq!(refusal(&stored, &[]), "Something went wrong inside the platform; the mock's log says what.");
    }
}
