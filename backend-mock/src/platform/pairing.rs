//! Phone keys for delivered cars: issuing the owner's device a grant the car trusts, taking the
//! car's signed receipt when the app linked (`app_linked`, then `operational`), and revoking.
//!
//! A grant goes only to the order's customer, only once the car was handed over to them, and
//! only for a key the device proves it holds; every key issued or revoked is on the order's log,
//! so the owner sees each phone that can open their car.

use crate::db::CachedSql as _;
use crate::extract::Json;
use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use caas_protocol::api::{ApiError, ErrorCode, EventKind, OrderEvent, OrderView};
use caas_protocol::pairing::api::{self, AppLink, GrantRequest, GrantView, LinkRequest, grant_request_message};
use caas_protocol::pairing::{DEVICE_KEY_LEN, Grant, GrantRole, LinkReceipt, Vin};
use caas_protocol::{Actor, OrderState};
use chrono::{DateTime, TimeDelta, Utc};
use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::AppState;
use super::orders::{self, Viewer};
use crate::auth::CustomerAuth;
use crate::error::{AppError, AppResult};

/// How long an owner's grant lasts; the phone asks for a new one as the end nears.
const GRANT_LIFETIME: TimeDelta = TimeDelta::days(30);
/// How recently the account must have been proven (a sign-in code) for a new device's key.
const STEP_UP_WINDOW: TimeDelta = TimeDelta::minutes(10);
/// A grant with less than this left is replaced rather than handed out again.
const REISSUE_BEFORE_END: TimeDelta = TimeDelta::days(1);
/// Grants start a little in the past, so a car whose clock lags accepts a fresh one.
pub(crate) const CLOCK_ALLOWANCE: TimeDelta = TimeDelta::minutes(5);
const MAX_PROOF_LEN: usize = 72;
const MAX_RECEIPT_LEN: usize = 137;

#[utoipa::path(post, path = "/v1/orders/{id}/pairing/grant", tag = "customer", request_body = GrantRequest,
    responses((status = 200, body = GrantView),
              (status = 403, body = ApiError, description = "grant_revoked: this device's key was revoked; step_up_required: a new device needs a sign-in within ten minutes"),
              (status = 409, body = ApiError, description = "not_delivered"),
              (status = 422, body = ApiError, description = "the key or its proof is invalid")),
    security(("bearer" = [])))]
/// Issues the device a grant for the order's car (or hands back its current one).
pub async fn issue_grant(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<GrantRequest>,
) -> AppResult<Json<GrantView>> {
    orders::view(&state.db.lock(), id, Viewer::Customer(auth.customer_id))?;
    let device_key = decode(&request.device_public_key, DEVICE_KEY_LEN, "device_public_key")?;
    let device_key: [u8; DEVICE_KEY_LEN] = device_key
        .try_into()
        .map_err(|_| AppError::invalid("`device_public_key` must be an uncompressed P-256 point (65 bytes)"))?;
    let proof = decode(&request.proof, MAX_PROOF_LEN, "proof")?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &device_key)
        .verify(&grant_request_message(id, &device_key), &proof)
        .map_err(|_| AppError::invalid("`proof` is not a signature of the request by `device_public_key`"))?;
    let now = state.clock.now();
    state
        .change(|tx| {
            let order = orders::view(tx, id, Viewer::Customer(auth.customer_id))?;
            let vin = paired_vin(&order)?;
            if let Some(view) = current_grant(tx, &state, id, &device_key, now)? {
                return Ok((view, Vec::new()));
            }
            check_fresh_proof(tx, id, &device_key, auth.proven_at, now)?;
            let signed = state.fleet.grant_signer().sign(Grant {
                grant_id: Uuid::new_v4(),
                vin: vin.clone(),
                role: GrantRole::Owner,
                not_before: (now - CLOCK_ALLOWANCE).timestamp(),
                not_after: (now + GRANT_LIFETIME).timestamp(),
                device_public_key: device_key,
            });
            let grant = &signed.grant;
            tx.execute_cached(
                "INSERT INTO pairing_grants (grant_id, order_id, vin, device_public_key, grant, not_before, not_after, issued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    grant.grant_id.to_string(),
                    id.to_string(),
                    vin.as_str(),
                    &device_key[..],
                    signed.bytes,
                    seconds(grant.not_before).to_rfc3339(),
                    seconds(grant.not_after).to_rfc3339(),
                    now.to_rfc3339()
                ],
            )?;
            let event = orders::append(
                tx,
                id,
                EventKind::KeyIssued { grant_id: grant.grant_id, not_after: seconds(grant.not_after) },
            )?;
            let issued = Issued {
                grant_id: grant.grant_id,
                bytes: &signed.bytes,
                not_before: grant.not_before,
                not_after: grant.not_after,
            };
            Ok((view(tx, &state, id, &vin, &issued)?, vec![event]))
        })
        .map(Json)
}

#[utoipa::path(post, path = "/v1/orders/{id}/pairing/link", tag = "customer", request_body = LinkRequest,
    responses((status = 200, body = OrderView),
              (status = 409, body = ApiError, description = "not_delivered"),
              (status = 422, body = ApiError, description = "link_receipt_invalid")),
    security(("bearer" = [])))]
/// Takes the car's signed receipt that it linked the app: `app_linked`, then `operational`.
/// Sending the same receipt again changes nothing.
pub async fn link(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<LinkRequest>,
) -> AppResult<Json<OrderView>> {
    orders::view(&state.db.lock(), id, Viewer::Customer(auth.customer_id))?;
    let bytes = decode(&request.receipt, MAX_RECEIPT_LEN, "receipt")?;
    let receipt = LinkReceipt::parse(&bytes).map_err(|e| invalid_receipt(&e.to_string()))?;
    state
        .change(|tx| {
            let order = orders::view(tx, id, Viewer::Customer(auth.customer_id))?;
            let vin = paired_vin(&order)?;
            if receipt.vin != vin {
                return Err(invalid_receipt("it is from another car"));
            }
            receipt
                .verify(&state.fleet.identity(&vin).public_key())
                .map_err(|_| invalid_receipt("the car's signature does not verify"))?;
            let device_key: Option<(Vec<u8>, Option<String>)> = tx
                .query_row_cached(
                    "SELECT device_public_key, revoked_at FROM pairing_grants WHERE grant_id = ?1 AND order_id = ?2",
                    params![receipt.grant_id.to_string(), id.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match device_key {
                Some((key, None)) if LinkReceipt::device_key_digest(&key) == receipt.device_key_digest => {}
                Some((_, Some(_))) => return Err(revoked()),
                _ => return Err(invalid_receipt("it names no key of this order")),
            }
            if order.app_link.as_ref().is_some_and(|link| link.grant_id == receipt.grant_id) {
                return Ok((order, Vec::new()));
            }
            let link = AppLink { grant_id: receipt.grant_id, linked_at: seconds(receipt.linked_at) };
            tx.execute_cached(
                "UPDATE pairing_grants SET linked_at = ?2 WHERE grant_id = ?1",
                params![receipt.grant_id.to_string(), link.linked_at.to_rfc3339()],
            )?;
            let mut events = Vec::new();
            if order.state == OrderState::Delivered {
                events.push(orders::transition(tx, id, OrderState::AppLinked, Actor::Customer)?);
            }
            events.push(orders::append(tx, id, EventKind::AppLinked { link })?);
            if order.state != OrderState::Operational {
                events.push(make_operational(tx, &state, id)?);
            }
            Ok((orders::view(tx, id, Viewer::Customer(auth.customer_id))?, events))
        })
        .map(Json)
}

/// The app is linked: the car is `operational` for its owner and its maintenance starts counting.
/// Also the sandbox's step for an order left at `app_linked`.
pub fn make_operational(tx: &Connection, state: &AppState, id: Uuid) -> AppResult<OrderEvent> {
    let operational = orders::transition(tx, id, OrderState::Operational, Actor::Platform)?;
    super::maintenance::start(tx, id, state.clock.now().date_naive())?;
    Ok(operational)
}

#[utoipa::path(post, path = "/v1/orders/{id}/pairing/keys/{grant_id}/revoke", tag = "customer",
    params(("id" = Uuid, Path, description = "the order"), ("grant_id" = Uuid, Path, description = "the phone key")),
    responses((status = 204, description = "revoked; the car refuses the key from its next command"),
              (status = 401, body = ApiError), (status = 404, body = ApiError, description = "no such unrevoked key on this customer's order")),
    security(("bearer" = [])))]
/// The owner revokes one of the phone keys of their car (a lost phone, one signing out).
pub async fn revoke_key(
    State(state): State<AppState>,
    auth: CustomerAuth,
    Path((id, grant_id)): Path<(Uuid, Uuid)>,
) -> AppResult<StatusCode> {
    orders::view(&state.db.lock(), id, Viewer::Customer(auth.customer_id))?;
    revoke(&state, grant_id, Some(id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A key for a device that never held one for this car needs the account proven lately: a sign-in
/// code within [`STEP_UP_WINDOW`], not a session renewed for weeks. A device renewing its own key
/// already proved it holds the key the car knows.
fn check_fresh_proof(
    conn: &Connection,
    order: Uuid,
    device_key: &[u8],
    proven_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let known_device = conn
        .query_row_cached(
            "SELECT 1 FROM pairing_grants WHERE order_id = ?1 AND device_public_key = ?2 LIMIT 1",
            params![order.to_string(), device_key],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if known_device || proven_at.is_some_and(|proven| now - proven <= STEP_UP_WINDOW) {
        return Ok(());
    }
    Err(AppError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::StepUpRequired,
        "making this phone a key of the car needs a fresh sign-in: ask for a new code and sign in again",
    ))
}

/// Revokes a grant (of `order` when given): the car refuses it from its next connection, and the
/// device gets no new one.
pub fn revoke(state: &AppState, grant_id: Uuid, of_order: Option<Uuid>) -> AppResult<()> {
    state.change(|tx| {
        let order: Option<String> = tx
            .query_row_cached(
                "SELECT order_id FROM pairing_grants WHERE grant_id = ?1 AND revoked_at IS NULL",
                [grant_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let order: Uuid = order
            .and_then(|o| o.parse().ok())
            .filter(|order| of_order.is_none_or(|wanted| wanted == *order))
            .ok_or_else(|| AppError::not_found("unrevoked phone key"))?;
        tx.execute_cached(
            "UPDATE pairing_grants SET revoked_at = ?2 WHERE grant_id = ?1",
            params![grant_id.to_string(), state.clock.now().to_rfc3339()],
        )?;
        // A new advertising key: the revoked phone no longer recognises the car, and the owner's
        // other phones get the new key with their next grant.
        tx.execute_cached(
            "UPDATE orders SET advertising_generation = advertising_generation + 1 WHERE id = ?1",
            [order.to_string()],
        )?;
        Ok(((), vec![orders::append(tx, order, EventKind::KeyRevoked { grant_id })?]))
    })
}

/// The order's VIN, once the car was handed over to its customer.
fn paired_vin(order: &OrderView) -> AppResult<Vin> {
    if !order.state.is_handed_over() {
        return Err(AppError::conflict(
            ErrorCode::NotDelivered,
            format!("the car is not handed over yet (the order is `{}`): phone keys come after delivery", order.state),
        ));
    }
    let vin = order.vin.as_deref().ok_or_else(|| AppError::not_found("vehicle"))?;
    Vin::parse(vin).map_err(|_| AppError::not_found("vehicle"))
}

/// The device's grant that is still good for a while, or a refusal if its key was revoked.
fn current_grant(
    conn: &Connection,
    state: &AppState,
    order: Uuid,
    device_key: &[u8],
    now: DateTime<Utc>,
) -> AppResult<Option<GrantView>> {
    let mut statement = conn.prepare_cached(
        "SELECT grant_id, vin, grant, not_before, not_after, revoked_at FROM pairing_grants
         WHERE order_id = ?1 AND device_public_key = ?2 ORDER BY issued_at DESC",
    )?;
    let rows = statement.query_map(params![order.to_string(), device_key], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    for row in rows {
        let (grant_id, vin, grant, not_before, not_after, revoked_at) = row?;
        if revoked_at.is_some() {
            return Err(revoked());
        }
        let (Ok(grant_id), Ok(vin), Ok(not_before), Ok(not_after)) = (
            grant_id.parse::<Uuid>(),
            Vin::parse(&vin),
            DateTime::parse_from_rfc3339(&not_before),
            DateTime::parse_from_rfc3339(&not_after),
        ) else {
            continue;
        };
        if not_after.with_timezone(&Utc) - now > REISSUE_BEFORE_END {
            let issued = Issued {
                grant_id,
                bytes: &grant,
                not_before: not_before.timestamp(),
                not_after: not_after.timestamp(),
            };
            return view(conn, state, order, &vin, &issued).map(Some);
        }
    }
    Ok(None)
}

/// A grant the platform signed: its id, bytes and validity in Unix seconds.
struct Issued<'a> {
    grant_id: Uuid,
    bytes: &'a [u8],
    not_before: i64,
    not_after: i64,
}

/// A grant as the device gets it, with the advertising key of the grant's own owner (`order`).
fn view(tx: &Connection, state: &AppState, order: Uuid, vin: &Vin, issued: &Issued<'_>) -> AppResult<GrantView> {
    let advertising = state.fleet.owner_advertising(tx, vin, order)?;
    Ok(GrantView {
        grant_id: issued.grant_id,
        grant: api::encode(issued.bytes),
        not_before: seconds(issued.not_before),
        not_after: seconds(issued.not_after),
        vin: vin.to_string(),
        vehicle_public_key: api::encode(&state.fleet.identity(vin).public_key()),
        advertising_key: api::encode(&advertising),
        platform_time: state.clock.now(),
    })
}

fn seconds(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or_default()
}

pub(crate) fn decode(text: &str, max_len: usize, field: &str) -> AppResult<Vec<u8>> {
    api::decode(text, max_len)
        .map_err(|_| AppError::invalid(format!("`{field}` must be base64url of at most {max_len} bytes")))
}

fn invalid_receipt(why: &str) -> AppError {
    AppError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::LinkReceiptInvalid,
        format!("the link receipt is refused: {why}"),
    )
}

fn revoked() -> AppError {
    AppError::new(StatusCode::FORBIDDEN, ErrorCode::GrantRevoked, "this phone's key for the car was revoked")
}
