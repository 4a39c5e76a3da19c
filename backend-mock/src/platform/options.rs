//! Options bought after delivery: the catalogue for one car, the purchase through the payment
//! machinery of the final payment, the entitlement the platform signs once the gateway confirms
//! the charge, its delivery over the connected-car network, the car's receipt (from that network
//! or forwarded by the owner's phone after a BLE activation), and the refund of an option the car
//! did not confirm in time.
//!
//! An option counts as active only on the car's signed receipt, never on the phone's word.

use crate::db::CachedSql as _;
use axum::extract::State;
use axum::http::HeaderMap;
use caas_protocol::api::{ApiError, ErrorCode, EventKind, Money, OrderEvent, OrderView};
use caas_protocol::messages::{Language, option_name};
use caas_protocol::options::{
    ACTIVATION_WINDOW, ActivationChannel, Availability, BuyOptionRequest, OptionCatalogue, OptionCode, OptionKind,
    OptionOffer, OptionPurchase, OptionReceiptRequest, PurchaseStatus, RECEIPT_GRACE,
};
use caas_protocol::pairing::api::{decode, encode};
use caas_protocol::pairing::{Entitlement, OptionReceipt, Vin};
use caas_protocol::payment::{PayRequest, Payment, PaymentPurpose};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::AppState;
use super::orders::{self, Viewer};
use super::payments;
use crate::auth::CustomerAuth;
use crate::catalogue::{self, AddOn};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};

/// The longest receipt a phone may forward: VIN, entitlement id, option, time, signature.
const MAX_RECEIPT_LEN: usize = 17 + 16 + 1 + caas_protocol::options::MAX_OPTION_CODE_LEN + 8 + 64;

/// The options bought for an order's car, oldest first, named in `language`.
pub fn purchases(conn: &Connection, order: Uuid, language: Language) -> AppResult<Vec<OptionPurchase>> {
    let mut statement = conn.prepare_cached(
        "SELECT id, option, price, entitlement, paid_at, activate_by, activated_at, activated_via, refunded_at
         FROM option_purchases WHERE order_id = ?1 ORDER BY paid_at, rowid",
    )?;
    let rows = statement.query_map([order.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Vec<u8>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
            r.get::<_, Option<String>>(8)?,
        ))
    })?;
    let unreadable = || AppError::internal("an option purchase is unreadable");
    let read = rows.map(|row| -> AppResult<OptionPurchase> {
        let (id, option, price, entitlement, paid_at, activate_by, activated_at, via, refunded_at) = row?;
        let option = OptionCode::parse(&option).map_err(|_| unreadable())?;
        let status = match (&activated_at, &refunded_at) {
            (Some(_), _) => PurchaseStatus::Activated,
            (None, Some(_)) => PurchaseStatus::Refunded,
            (None, None) => PurchaseStatus::Paid,
        };
        Ok(OptionPurchase {
            purchase_id: id.parse().map_err(|_| unreadable())?,
            name: display_name(&option, language),
            price: serde_json::from_str(&price)?,
            status,
            paid_at: time(&paid_at)?,
            activate_by: time(&activate_by)?,
            entitlement: (status == PurchaseStatus::Paid).then(|| encode(&entitlement)),
            activated_at: activated_at.as_deref().map(time).transpose()?,
            activated_via: via
                .as_deref()
                .map(|v| serde_json::from_value(serde_json::Value::String(v.to_owned())))
                .transpose()?,
            refunded_at: refunded_at.as_deref().map(time).transpose()?,
            option,
        })
    });
    // One unreadable purchase is said loudly, never the reason the whole order cannot be read.
    Ok(read
        .filter_map(|purchase| {
            purchase
                .map_err(|error| tracing::error!(%order, message = %error.message, "an option purchase is unreadable"))
                .ok()
        })
        .collect())
}

fn time(text: &str) -> AppResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| AppError::internal("a stored time is unreadable"))
}

fn display_name(option: &OptionCode, language: Language) -> String {
    caas_protocol::messages::capitalized(option_name(option, language).unwrap_or(option.as_str()))
}

/// What the car can take now, from the catalogue of its base platform: what it has (fitted at the
/// factory or activated since) and what is on its way decide each option's availability.
fn offers(view: &OrderView, language: Language) -> Vec<OptionOffer> {
    let bought = |status| view.options.iter().filter(move |p| p.status == status).map(|p| p.option.as_str());
    let has: Vec<&str> =
        view.configuration.options.iter().map(String::as_str).chain(bought(PurchaseStatus::Activated)).collect();
    let pending: Vec<&str> = bought(PurchaseStatus::Paid).collect();
    catalogue::after_delivery(&view.configuration.base_platform)
        .filter_map(|add_on| {
            let code = OptionCode::parse(add_on.code).ok()?;
            Some(OptionOffer {
                name: display_name(&code, language),
                price: price(add_on),
                kind: add_on.kind,
                requires: codes(add_on.requires),
                conflicts_with: codes(add_on.conflicts_with),
                availability: availability(add_on, &has, &pending),
                code,
            })
        })
        .collect()
}

fn availability(add_on: &AddOn, has: &[&str], pending: &[&str]) -> Availability {
    let named = |code: &str| OptionCode::parse(code).map_err(|_| Availability::Unknown);
    let found = || -> Result<Availability, Availability> {
        if has.contains(&add_on.code) {
            return Ok(Availability::Installed);
        }
        if pending.contains(&add_on.code) {
            return Ok(Availability::Pending);
        }
        if add_on.kind == OptionKind::Workshop {
            return Ok(Availability::NeedsWorkshop);
        }
        if let Some(missing) = add_on.requires.iter().find(|code| !has.contains(code)) {
            return Ok(Availability::Requires { option: named(missing)? });
        }
        if let Some(conflict) = add_on.conflicts_with.iter().find(|code| has.contains(code) || pending.contains(code)) {
            return Ok(Availability::ConflictsWith { option: named(conflict)? });
        }
        Ok(Availability::Available)
    };
    found().unwrap_or_else(|unknown| unknown)
}

fn price(add_on: &AddOn) -> Money {
    Money { amount_minor: add_on.price_minor, currency: "EUR".into() }
}

fn codes(codes: &[&str]) -> Vec<OptionCode> {
    codes.iter().filter_map(|code| OptionCode::parse(code).ok()).collect()
}

/// The car is its customer's from the handover on.
fn car_of(view: &OrderView) -> AppResult<Vin> {
    let vin = view.vin.as_deref().and_then(|vin| Vin::parse(vin).ok());
    match vin {
        Some(vin) if view.state.is_handed_over() => Ok(vin),
        _ => Err(AppError::conflict(ErrorCode::NotDelivered, "options are added once the car is handed over to you")),
    }
}

fn language_of(view: &OrderView) -> Language {
    Language::of_country(&view.dealership.country)
}

#[utoipa::path(get, path = "/v1/orders/{id}/options", tag = "customer",
    responses((status = 200, body = OptionCatalogue), (status = 404, body = ApiError),
              (status = 409, body = ApiError, description = "not_delivered")),
    security(("bearer" = [])))]
/// The options the order's car can take after delivery, with what each needs.
pub async fn catalogue(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
) -> AppResult<Json<OptionCatalogue>> {
    let view = orders::view(&state.db.lock(), id, Viewer::Customer(auth.customer_id))?;
    car_of(&view)?;
    Ok(Json(OptionCatalogue {
        base_platform: view.configuration.base_platform.clone(),
        offers: offers(&view, language_of(&view)),
    }))
}

#[utoipa::path(post, path = "/v1/orders/{id}/options", tag = "customer", request_body = BuyOptionRequest,
    params(("idempotency-key" = String, Header, description = "one per payment attempt; repeat it to retry the attempt")),
    responses(
        (status = 200, body = Payment, description = "the attempt's outcome, as for the final payment"),
        (status = 409, body = ApiError, description = "not_delivered, option_unavailable, amount_mismatch, payment_in_progress"),
        (status = 422, body = ApiError, description = "idempotency_key_reused or an invalid request"),
        (status = 503, body = ApiError, description = "payment_gateway_unavailable: repeat the same request")),
    security(("bearer" = [])))]
/// Buys an option for the order's car with a tokenized card. Once the gateway confirms the charge
/// the platform signs the car's entitlement.
pub async fn buy(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(request): Json<BuyOptionRequest>,
) -> AppResult<Json<Payment>> {
    let view = orders::view(&state.db.lock(), id, Viewer::Customer(auth.customer_id))?;
    let key = payments::idempotency_key(&headers)?;
    let purpose = PaymentPurpose::Option(request.option.clone());
    let charge = PayRequest { payment_method: request.payment_method, amount: request.amount };
    let payable = |amount: &Money| {
        car_of(&view)?;
        let offer = offers(&view, language_of(&view)).into_iter().find(|offer| offer.code == request.option);
        let Some(offer) = offer else {
            return Err(AppError::conflict(ErrorCode::OptionUnavailable, "this option is not offered for this car"));
        };
        if let Some(reason) = unavailable(&offer.availability) {
            return Err(AppError::conflict(ErrorCode::OptionUnavailable, reason));
        }
        if *amount != offer.price {
            return Err(AppError::conflict(
                ErrorCode::AmountMismatch,
                format!("the option's price is {}", offer.price),
            ));
        }
        Ok(())
    };
    payments::take_payment(&state, id, &key, charge, &purpose, payable).await.map(Json)
}

/// Why an option cannot be bought now, or `None` when it can.
fn unavailable(availability: &Availability) -> Option<String> {
    match availability {
        Availability::Available => None,
        Availability::Installed => Some("the car has this option already".into()),
        Availability::Pending => Some("this option is bought already and on its way to the car".into()),
        Availability::NeedsWorkshop => {
            Some("this option is fitted at the workshop; book a service visit at your dealership".into())
        }
        Availability::Requires { option } => Some(format!("this option needs `{option}` on the car first")),
        Availability::ConflictsWith { option } => Some(format!("this option cannot go with `{option}`")),
        Availability::Unknown => Some("this option is not offered for this car now".into()),
    }
}

/// The gateway confirmed an option's charge: the platform signs the car's entitlement and the
/// purchase goes on the order's record. A charge the car cannot take (a replayed webhook aside:
/// an attempt not the customer's, another price, an option that became unavailable while the
/// charge settled, such as two conflicting ones bought at once) is given back instead.
pub fn apply_paid(
    conn: &Connection,
    state: &AppState,
    payment: &Payment,
    option: &OptionCode,
    own_attempt: bool,
) -> AppResult<Vec<OrderEvent>> {
    // A notification for a charge already taken care of (a purchase, or a refund) changes nothing.
    let recorded: Option<String> = conn
        .query_row_cached("SELECT id FROM option_purchases WHERE intent_id = ?1", [&payment.id], |r| r.get(0))
        .optional()?;
    if recorded.is_some() || payments::refunding(conn, &payment.id)? {
        return Ok(Vec::new());
    }
    let view = orders::view(conn, payment.order_id, Viewer::Sandbox)?;
    let offer = offers(&view, language_of(&view)).into_iter().find(|offer| offer.code == *option);
    let refusal = match (&offer, car_of(&view)) {
        (_, Err(_)) => Some("the car is no longer its customer's".to_owned()),
        (None, _) => Some("the option is not offered for this car".to_owned()),
        (Some(_), _) if !own_attempt => Some("the charge was not the customer's purchase".to_owned()),
        (Some(offer), _) if offer.price != payment.amount => Some("the charge was not the option's price".to_owned()),
        (Some(offer), _) => unavailable(&offer.availability),
    };
    if let Some(reason) = refusal {
        tracing::warn!(order = %payment.order_id, payment = %payment.id, %reason, "refunding an option charge");
        payments::refund_later(conn, payment, &reason)?;
        return Ok(Vec::new());
    }
    let vin = car_of(&view)?;
    let now = state.clock.now();
    // Whole seconds: the instant the platform counts to is the one the car checks.
    let activate_by = DateTime::from_timestamp((now + ACTIVATION_WINDOW).timestamp(), 0)
        .ok_or_else(|| AppError::internal("the activation window ends out of range"))?;
    let purchase_id = Uuid::new_v4();
    let entitlement = state.fleet.entitlement_signer().sign(&Entitlement {
        entitlement_id: purchase_id,
        vin: vin.clone(),
        option: option.clone(),
        not_before: (now - super::pairing::CLOCK_ALLOWANCE).timestamp(),
        not_after: activate_by.timestamp(),
    });
    conn.execute_cached(
        "INSERT INTO option_purchases (id, order_id, vin, option, price, intent_id, entitlement, paid_at, activate_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            purchase_id.to_string(),
            payment.order_id.to_string(),
            vin.as_str(),
            option.as_str(),
            serde_json::to_string(&payment.amount)?,
            payment.id,
            entitlement,
            now.to_rfc3339(),
            activate_by.to_rfc3339()
        ],
    )?;
    tracing::info!(order = %payment.order_id, %option, %purchase_id, "option paid; entitlement signed");
    let purchased =
        EventKind::OptionPurchased { purchase_id, option: option.clone(), amount: payment.amount.clone(), activate_by };
    Ok(vec![orders::append(conn, payment.order_id, purchased)?])
}

/// Records the car's receipt for an option of `order`: checked against the car's key, the
/// purchase its entitlement names, and the entitlement's validity. A receipt recorded before
/// changes nothing.
fn record_activation(
    conn: &Connection,
    state: &AppState,
    order: Uuid,
    receipt: &OptionReceipt,
    via: ActivationChannel,
) -> AppResult<Vec<OrderEvent>> {
    let invalid = |why: &str| {
        AppError::conflict(ErrorCode::OptionReceiptInvalid, format!("the car's option receipt was refused: {why}"))
    };
    /// The purchase a receipt names, as stored.
    struct Named {
        vin: String,
        option: String,
        activate_by: String,
        activated: bool,
        refunded: bool,
    }
    let purchase = conn
        .query_row_cached(
            "SELECT vin, option, activate_by, activated_at IS NOT NULL, refund_claimed_at IS NOT NULL
             FROM option_purchases WHERE id = ?1 AND order_id = ?2",
            params![receipt.entitlement_id.to_string(), order.to_string()],
            |r| {
                Ok(Named {
                    vin: r.get(0)?,
                    option: r.get(1)?,
                    activate_by: r.get(2)?,
                    activated: r.get(3)?,
                    refunded: r.get(4)?,
                })
            },
        )
        .optional()?;
    let Some(Named { vin, option, activate_by, activated, refunded }) = purchase else {
        return Err(invalid("it names no option bought for this car"));
    };
    if receipt.vin.as_str() != vin || receipt.option.as_str() != option {
        return Err(invalid("it is for another car or option"));
    }
    receipt
        .verify(&state.fleet.identity(&receipt.vin).public_key())
        .map_err(|_| invalid("the car's signature does not verify"))?;
    if activated {
        return Ok(Vec::new());
    }
    if refunded {
        return Err(invalid("the option was not confirmed in time and is refunded; the car switches it off"));
    }
    let activated =
        DateTime::from_timestamp(receipt.activated_at, 0).ok_or_else(|| invalid("its time is out of range"))?;
    if activated > time(&activate_by)? {
        return Err(invalid("the car switched the option on after its entitlement ended"));
    }
    conn.execute_cached(
        "UPDATE option_purchases SET activated_at = ?2, activated_via = ?3 WHERE id = ?1",
        params![receipt.entitlement_id.to_string(), activated.to_rfc3339(), serde_json::to_value(via)?.as_str()],
    )?;
    tracing::info!(%order, option = %receipt.option, ?via, "the car confirmed an option");
    let event = EventKind::OptionActivated {
        purchase_id: receipt.entitlement_id,
        option: receipt.option.clone(),
        via,
        activated_at: activated,
    };
    Ok(vec![orders::append(conn, order, event)?])
}

#[utoipa::path(post, path = "/v1/orders/{id}/options/receipts", tag = "customer", request_body = OptionReceiptRequest,
    responses((status = 200, body = OrderView),
              (status = 409, body = ApiError, description = "option_receipt_invalid: not the car's, not this order's, or too late"),
              (status = 422, body = ApiError, description = "not a receipt")),
    security(("bearer" = [])))]
/// The car's receipt for an option it switched on over the owner's BLE link, forwarded by the phone.
pub async fn receipt(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<OptionReceiptRequest>,
) -> AppResult<Json<OrderView>> {
    orders::view(&state.db.lock(), id, Viewer::Customer(auth.customer_id))?;
    let bytes = decode(&request.receipt, MAX_RECEIPT_LEN)
        .map_err(|_| AppError::invalid(format!("`receipt` must be base64url of at most {MAX_RECEIPT_LEN} bytes")))?;
    let receipt = OptionReceipt::parse(&bytes).map_err(|e| AppError::invalid(format!("`receipt`: {e}")))?;
    state
        .change(|tx| {
            let events = record_activation(tx, &state, id, &receipt, ActivationChannel::Bluetooth)?;
            Ok((orders::view(tx, id, Viewer::Customer(auth.customer_id))?, events))
        })
        .map(Json)
}

/// A purchase the car has not confirmed and that is not refunded yet.
struct Unsettled {
    id: Uuid,
    order: Uuid,
    vin: Vin,
    option: OptionCode,
    price: Money,
    intent: String,
    entitlement: Vec<u8>,
    activate_by: DateTime<Utc>,
    /// The refund was claimed: only the gateway's answer is missing.
    refund_claimed: bool,
}

fn unsettled(state: &AppState) -> AppResult<Vec<Unsettled>> {
    let conn = state.db.lock();
    let mut statement = conn.prepare_cached(
        "SELECT id, order_id, vin, option, price, intent_id, entitlement, activate_by, refund_claimed_at IS NOT NULL
         FROM option_purchases WHERE activated_at IS NULL AND refunded_at IS NULL",
    )?;
    let rows = statement.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, Vec<u8>>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, bool>(8)?,
        ))
    })?;
    let mut purchases = Vec::new();
    for row in rows {
        let (id, order, vin, option, price, intent, entitlement, activate_by, refund_claimed) = row?;
        let read = || -> Option<Unsettled> {
            Some(Unsettled {
                id: id.parse().ok()?,
                order: order.parse().ok()?,
                vin: Vin::parse(&vin).ok()?,
                option: OptionCode::parse(&option).ok()?,
                price: serde_json::from_str(&price).ok()?,
                intent: intent.clone(),
                entitlement: entitlement.clone(),
                activate_by: time(&activate_by).ok()?,
                refund_claimed,
            })
        };
        match read() {
            Some(purchase) => purchases.push(purchase),
            // Never delivered nor refunded until someone looks: said loudly.
            None => tracing::error!(purchase = %id, "an option purchase is unreadable; it needs a person"),
        }
    }
    Ok(purchases)
}

/// Refunded options the car has not been told to switch off yet: purchase, car.
fn unrevoked(state: &AppState) -> AppResult<Vec<(Uuid, Vin)>> {
    let conn = state.db.lock();
    let mut statement = conn
        .prepare_cached("SELECT id, vin FROM option_purchases WHERE refunded_at IS NOT NULL AND revoked_at IS NULL")?;
    let rows = statement.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut refunded = Vec::new();
    for row in rows {
        let (id, vin) = row?;
        match (id.parse(), Vin::parse(&vin)) {
            (Ok(purchase), Ok(vin)) => refunded.push((purchase, vin)),
            _ => {
                tracing::error!(purchase = %id, "a refunded option is unreadable; its car is not told; it needs a person")
            }
        }
    }
    Ok(refunded)
}

/// What becomes of one unsettled purchase on a sweep.
enum Next {
    /// Send the entitlement over the network, while it is valid.
    Deliver,
    /// Ended: ask the car whether it took it (its receipt may be on a phone that never reported).
    AskTheCar,
    /// Nothing to do until the car is reachable or the receipt grace passes.
    Wait,
    /// Refund it (claimed, or to be claimed).
    Refund,
}

fn next(purchase: &Unsettled, now: DateTime<Utc>) -> Next {
    if purchase.refund_claimed {
        Next::Refund
    } else if now <= purchase.activate_by {
        Next::Deliver
    } else if now <= purchase.activate_by + super::pairing::CLOCK_ALLOWANCE {
        // A car whose clock lags may still take it: ask once no car clock within the allowance can.
        Next::Wait
    } else {
        Next::AskTheCar
    }
}

/// Sends each valid entitlement over the connected-car network to a car in coverage and records
/// its receipt. Once an entitlement ended, the platform asks the car, in coverage, whether it took
/// it: its receipt makes the option active, its "no" (final: the car refuses an ended entitlement)
/// refunds it at once. A car out of reach is waited for until the receipt grace passes, then the
/// option is refunded and the car told to switch it off when it is next in coverage.
pub async fn sweep(state: &AppState) {
    let _one_at_a_time = state.sweeping.lock().await;
    let purchases = match unsettled(state) {
        Ok(purchases) => purchases,
        Err(error) => {
            tracing::error!(message = %error.message, "option purchases could not be read");
            return;
        }
    };
    let now = state.clock.now();
    for purchase in purchases {
        let step = match next(&purchase, now) {
            Next::AskTheCar => match state.fleet.settle_over_network(&purchase.vin, purchase.id) {
                Ok(Some(receipt)) => {
                    record_from_network(state, &purchase, &receipt);
                    Next::Wait
                }
                Ok(None) => Next::Refund,
                Err(_) if now > purchase.activate_by + RECEIPT_GRACE => Next::Refund,
                Err(_) => Next::Wait,
            },
            other => other,
        };
        match step {
            Next::Deliver => deliver(state, &purchase),
            Next::Refund => refund(state, &purchase).await,
            Next::AskTheCar | Next::Wait => {}
        }
    }
    revoke_refunded(state);
}

fn record_from_network(state: &AppState, purchase: &Unsettled, receipt: &OptionReceipt) {
    let recorded = state
        .change(|tx| Ok(((), record_activation(tx, state, purchase.order, receipt, ActivationChannel::ConnectedCar)?)));
    if let Err(error) = recorded {
        tracing::warn!(purchase = %purchase.id, message = %error.message, "a receipt from the network was refused");
    }
}

fn deliver(state: &AppState, purchase: &Unsettled) {
    match state.fleet.deliver_over_network(&purchase.vin, &purchase.entitlement) {
        Ok(Ok(receipt)) => record_from_network(state, purchase, &receipt),
        Ok(Err(alert)) => tracing::warn!(purchase = %purchase.id, %alert, "the car refused an entitlement"),
        Err(_) => tracing::debug!(purchase = %purchase.id, "the car is out of coverage; the entitlement waits"),
    }
}

/// Claims the refund in one transaction with the check that no receipt made the option active
/// (from then on no receipt is taken), then asks the gateway, again on every sweep until it
/// answers, and records it: `option_refunded`, the customer told.
async fn refund(state: &AppState, purchase: &Unsettled) {
    if !purchase.refund_claimed {
        let claimed = state.db.lock().execute_cached(
            "UPDATE option_purchases SET refund_claimed_at = ?2
             WHERE id = ?1 AND activated_at IS NULL AND refund_claimed_at IS NULL",
            params![purchase.id.to_string(), state.clock.now().to_rfc3339()],
        );
        match claimed {
            Ok(1) => {}
            Ok(_) => return,
            Err(error) => {
                tracing::error!(purchase = %purchase.id, %error, "a refund could not be claimed");
                return;
            }
        }
    }
    let reason = "the car did not confirm the option in time";
    if let Err(error) = state.gateway.refund(&purchase.intent, reason).await {
        tracing::warn!(purchase = %purchase.id, %error, "an option was not refunded yet");
        return;
    }
    let recorded = state.change(|tx| {
        let first = tx.execute_cached(
            "UPDATE option_purchases SET refunded_at = ?2 WHERE id = ?1 AND refunded_at IS NULL",
            params![purchase.id.to_string(), state.clock.now().to_rfc3339()],
        )?;
        if first == 0 {
            return Ok(((), Vec::new()));
        }
        tx.execute_cached("UPDATE payments SET status = 'refunded' WHERE intent_id = ?1", [&purchase.intent])?;
        let refunded = EventKind::OptionRefunded {
            purchase_id: purchase.id,
            option: purchase.option.clone(),
            amount: purchase.price.clone(),
        };
        Ok(((), vec![orders::append(tx, purchase.order, refunded)?]))
    });
    match recorded {
        Ok(()) => tracing::info!(purchase = %purchase.id, "an option the car did not confirm was refunded"),
        Err(error) => {
            tracing::error!(purchase = %purchase.id, message = %error.message, "a refund could not be recorded")
        }
    }
}

/// Tells each car in coverage to switch off the refunded options it may have taken (a receipt
/// that never reached the platform), so a refunded option is never kept for free.
fn revoke_refunded(state: &AppState) {
    let refunded = match unrevoked(state) {
        Ok(refunded) => refunded,
        Err(error) => {
            tracing::error!(message = %error.message, "refunded options could not be read");
            return;
        }
    };
    for (purchase, vin) in refunded {
        if state.fleet.revoke_over_network(&vin, purchase).is_err() {
            continue;
        }
        let marked = state.db.lock().execute_cached(
            "UPDATE option_purchases SET revoked_at = ?2 WHERE id = ?1",
            params![purchase.to_string(), state.clock.now().to_rfc3339()],
        );
        if let Err(error) = marked {
            tracing::error!(%purchase, %error, "a revocation could not be recorded; it is sent again");
        }
    }
}

/// Sweeps the options and the cars' maintenance every two seconds until the mock stops.
pub async fn run(state: AppState) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(2));
    loop {
        ticks.tick().await;
        sweep(&state).await;
        super::maintenance::sweep(&state).await;
    }
}
