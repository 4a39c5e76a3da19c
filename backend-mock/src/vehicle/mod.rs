//! The simulated cars: what each car holds from manufacture (its own identity key, the platform's
//! grant key, its advertising key), what it remembers (linked phones, answered commands), and
//! the radio a phone reaches them over.
//!
//! Every car key is derived from one pairing seed in memory (HMAC-SHA256 over a purpose and the
//! VIN), so no private key is ever written to the database, and a mock restarted with the same
//! `--pairing-key` has the same cars.

mod car;
pub mod radio;

use crate::db::CachedSql as _;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use caas_protocol::OrderState;
use caas_protocol::maintenance::WarningCode;
use caas_protocol::options::OptionCode;
use caas_protocol::pairing::radio::{Advertisement, MAX_ADVERTISEMENTS};
use caas_protocol::pairing::{
    AdvertisingKey, AlertCode, CarIdentity, CommandId, EntitlementSigner, Grant, GrantRole, GrantSigner, LinkReceipt,
    MAX_ACTIVE_OPTIONS, MAX_WARNINGS, OptionReceipt, Reply, Request, RotatingId, TelemetryReport, VehicleStatus, Vin,
};
use ring::hmac;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::Clock;
use crate::db::Db;

/// Replies a car keeps, per car, so a command sent again after a lost answer is answered from
/// memory instead of run twice.
const REMEMBERED_REPLIES: usize = 32;

/// The cars and their shared pairing secrets.
#[derive(Clone)]
pub struct Fleet {
    inner: Arc<FleetInner>,
}

struct FleetInner {
    master: hmac::Key,
    grants: GrantSigner,
    entitlements: EntitlementSigner,
    db: Db,
    clock: Clock,
    memory: Mutex<HashMap<String, CarMemory>>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet").finish_non_exhaustive()
    }
}

/// What one car remembers between connections.
#[derive(Debug, Default)]
struct CarMemory {
    /// Grants whose phone the car linked, with the device key's digest.
    linked: Vec<(Uuid, [u8; 32])>,
    /// How many times the car actually linked an app (not answered from memory).
    links_executed: u32,
    commands_executed: u32,
    replies: VecDeque<((Uuid, CommandId), Reply)>,
    /// Sandbox fault: the next this many replies are computed and then lost on the air.
    drop_replies: u32,
    /// Options switched on after delivery, each with the entitlement that did it and when.
    options: Vec<ActiveOption>,
    /// Entitlements the car answered the platform it does not hold, or was told to switch off:
    /// refused from then on, so that answer stays true.
    settled: Vec<Uuid>,
    /// Sandbox: the car is out of the connected-car network's reach (an underground garage).
    out_of_coverage: bool,
    /// Driven since it left the factory (sandbox `drive`), on top of the delivery's kilometres.
    driven_km: u32,
    /// What the car warns about now (sandbox `drive`).
    warnings: Vec<WarningCode>,
}

/// The kilometres a new car has on its odometer when it is handed over.
const DELIVERY_KM: u32 = 12;

#[derive(Debug, Clone)]
struct ActiveOption {
    option: OptionCode,
    entitlement_id: Uuid,
    activated_at: i64,
}

/// The car cannot be reached over the connected-car network now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfCoverage;

/// What the sandbox can see of a car.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VehicleInspection {
    pub vin: String,
    /// Whether the car is advertising (delivered to its customer).
    pub on_air: bool,
    pub linked_phones: u32,
    /// Times the car ran a "link app" command; answers from memory do not count.
    pub links_executed: u32,
    pub commands_executed: u32,
    /// Options switched on after delivery.
    pub options: Vec<String>,
    /// Whether the connected-car network reaches the car.
    pub connected: bool,
}

impl Fleet {
    pub fn new(seed: &[u8; 32], db: Db, clock: Clock) -> Self {
        let master = hmac::Key::new(hmac::HMAC_SHA256, seed);
        let grants = GrantSigner::from_seed(&derive(&master, "grant-key", ""));
        let entitlements = EntitlementSigner::from_seed(&derive(&master, "entitlement-key", ""));
        Self { inner: Arc::new(FleetInner { master, grants, entitlements, db, clock, memory: Mutex::default() }) }
    }

    /// The platform's entitlement key; every car trusts its public half.
    pub fn entitlement_signer(&self) -> &EntitlementSigner {
        &self.inner.entitlements
    }

    /// The platform's grant key; every car trusts its public half.
    pub fn grant_signer(&self) -> &GrantSigner {
        &self.inner.grants
    }

    pub fn identity(&self, vin: &Vin) -> CarIdentity {
        CarIdentity::from_seed(
            vin.clone(),
            &derive(&self.inner.master, "vehicle-identity", vin.as_str()),
            self.inner.grants.verifier(),
        )
    }

    /// The secret behind the car's rotating advertisement for one owner (the order that sold it
    /// to them) and one generation of their keys: a resale (another order) or a revoked phone
    /// key (another generation) gives the car a new one.
    pub fn advertising_secret(&self, vin: &Vin, owner: Uuid, generation: i64) -> [u8; 32] {
        derive(&self.inner.master, "advertising", &format!("{vin}/{owner}/{generation}"))
    }

    /// The advertising secret of the owner who bought the car with `order`, as of their current
    /// key generation, read on `conn`.
    pub fn owner_advertising(&self, conn: &Connection, vin: &Vin, order: Uuid) -> rusqlite::Result<[u8; 32]> {
        let generation: i64 = conn.query_row_cached(
            "SELECT advertising_generation FROM orders WHERE id = ?1",
            [order.to_string()],
            |r| r.get(0),
        )?;
        Ok(self.advertising_secret(vin, order, generation))
    }

    /// The car's current advertising secret, read on `conn`: `None` while no customer has it.
    pub fn current_advertising(&self, conn: &Connection, vin: &Vin) -> rusqlite::Result<Option<[u8; 32]>> {
        let owner: Option<(String, i64)> = conn
            .query_row_cached(
                "SELECT id, advertising_generation FROM orders WHERE vin = ?1 AND state IN (?2, ?3, ?4)
                 ORDER BY updated_at DESC LIMIT 1",
                rusqlite::params![
                    vin.as_str(),
                    OrderState::Delivered.wire_name(),
                    OrderState::AppLinked.wire_name(),
                    OrderState::Operational.wire_name()
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(owner.and_then(|(order, generation)| {
            order.parse().ok().map(|order| self.advertising_secret(vin, order, generation))
        }))
    }

    /// The car as it answers a phone now: its identity and its owner's current advertising key.
    pub(super) fn on_the_road(&self, vin: &Vin) -> CarIdentity {
        let identity = self.identity(vin);
        match self.current_advertising(&self.inner.db.lock(), vin) {
            Ok(Some(secret)) => identity.with_advertising(AdvertisingKey::new(&secret)),
            Ok(None) => identity,
            Err(error) => {
                tracing::warn!(%error, "could not read the advertising key; the car answers nobody");
                identity
            }
        }
    }

    /// The car's clock: the platform's, so the sandbox clock moves grants' validity too.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }

    /// Cars with their customers (delivered or later) advertise; newest first, as many as a scan
    /// reports.
    fn on_air(&self) -> Vec<(Vin, Advertisement)> {
        let cars: Vec<(String, String, i64)> = {
            let conn = self.inner.db.lock();
            let query = conn.prepare_cached(
                "SELECT vin, id, advertising_generation FROM orders WHERE vin IS NOT NULL AND state IN (?1, ?2, ?3)
                 ORDER BY updated_at DESC LIMIT ?4",
            );
            let rows = query.and_then(|mut statement| {
                statement
                    .query_map(
                        rusqlite::params![
                            OrderState::Delivered.wire_name(),
                            OrderState::AppLinked.wire_name(),
                            OrderState::Operational.wire_name(),
                            MAX_ADVERTISEMENTS
                        ],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )?
                    .collect()
            });
            rows.unwrap_or_else(|error| {
                tracing::warn!(%error, "could not list the cars on the air");
                Vec::new()
            })
        };
        let now = self.now().timestamp();
        cars.iter()
            .filter_map(|(vin, order, generation)| Some((Vin::parse(vin).ok()?, order.parse().ok()?, *generation)))
            .map(|(vin, order, generation)| {
                let secret = self.advertising_secret(&vin, order, generation);
                let rotating_id = AdvertisingKey::new(&secret).rotating_id(now);
                let ad = Advertisement { peripheral_id: peripheral_id(rotating_id), rotating_id, rssi: -58 };
                (vin, ad)
            })
            .collect()
    }

    /// The car a phone asks to connect to, by the name it saw in a scan.
    fn find(&self, peripheral: &str) -> Option<Vin> {
        self.on_air().into_iter().find(|(_, ad)| ad.peripheral_id == peripheral).map(|(vin, _)| vin)
    }

    /// Whether the platform told the car that a grant was revoked.
    fn is_revoked(&self, grant_id: Uuid) -> bool {
        let revoked: Option<Option<String>> = self
            .inner
            .db
            .lock()
            .query_row_cached(
                "SELECT revoked_at FROM pairing_grants WHERE grant_id = ?1",
                [grant_id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "could not read revocations; refusing the grant");
                Some(Some(String::new()))
            });
        matches!(revoked, Some(Some(_)))
    }

    /// Why a key accepted at the handshake no longer opens the car: revoked since, or past its end
    /// by the car's clock. The car asks on every command, not only when a session opens.
    fn lapsed(&self, grant: &Grant) -> Option<AlertCode> {
        if self.is_revoked(grant.grant_id) {
            Some(AlertCode::GrantRevoked)
        } else if self.now().timestamp() > grant.not_after {
            Some(AlertCode::GrantExpired)
        } else {
            None
        }
    }

    /// Runs a command from an authenticated session, or answers it from memory if the car ran it
    /// already. `None` when the sandbox made the reply get lost.
    fn execute(&self, identity: &CarIdentity, grant: &Grant, id: CommandId, request: Request) -> Option<Reply> {
        if let Some(lapsed) = self.lapsed(grant) {
            return Some(Reply::Refused(lapsed));
        }
        let mut memory = self.inner.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let car = memory.entry(identity.vin.to_string()).or_default();
        let key = (grant.grant_id, id);
        let remembered = car.replies.iter().find(|(k, _)| *k == key).map(|(_, reply)| reply.clone());
        let reply = match remembered {
            Some(reply) => reply,
            None => {
                let reply = match request {
                    Request::LinkApp if grant.role != GrantRole::Owner => Reply::Refused(AlertCode::NotPermitted),
                    Request::LinkApp => {
                        let digest = LinkReceipt::device_key_digest(&grant.device_public_key);
                        car.linked.retain(|(grant_id, _)| *grant_id != grant.grant_id);
                        car.linked.push((grant.grant_id, digest));
                        car.links_executed += 1;
                        let linked_at = self.now().timestamp();
                        let signed = LinkReceipt::signed_part(&identity.vin, grant.grant_id, &digest, linked_at);
                        Reply::Linked(LinkReceipt {
                            vin: identity.vin.clone(),
                            grant_id: grant.grant_id,
                            device_key_digest: digest,
                            linked_at,
                            signature: identity.sign(&signed),
                        })
                    }
                    Request::ReadStatus => Reply::Status(VehicleStatus {
                        odometer_km: DELIVERY_KM.saturating_add(car.driven_km),
                        battery_percent: 81,
                        locked: true,
                        owner_linked: !car.linked.is_empty(),
                    }),
                    Request::ReadOptions => Reply::Options(car.options.iter().map(|a| a.option.clone()).collect()),
                    Request::ReadTelemetry => Reply::Telemetry(self.telemetry(identity, car)),
                    Request::ActivateOption(_) if grant.role != GrantRole::Owner => {
                        Reply::Refused(AlertCode::NotPermitted)
                    }
                    Request::ActivateOption(entitlement) => match self.switch_on(identity, car, &entitlement) {
                        Ok(receipt) => Reply::OptionActivated(receipt),
                        Err(code) => Reply::Refused(code),
                    },
                };
                car.commands_executed += 1;
                if car.replies.len() == REMEMBERED_REPLIES {
                    car.replies.pop_front();
                }
                car.replies.push_back((key, reply.clone()));
                reply
            }
        };
        if car.drop_replies > 0 {
            car.drop_replies -= 1;
            tracing::info!(vin = %identity.vin, "sandbox fault: the car's reply is lost on the air");
            return None;
        }
        Some(reply)
    }

    /// Checks an entitlement the way the car does (the platform's signature and this car's VIN;
    /// then, for one it has not taken, the car's clock within its validity, and an option that goes
    /// with those it has) and switches its option on. An entitlement the car took before is
    /// answered with the same receipt, even after it ended.
    fn switch_on(
        &self,
        identity: &CarIdentity,
        car: &mut CarMemory,
        entitlement: &[u8],
    ) -> Result<OptionReceipt, AlertCode> {
        let entitlement = self
            .inner
            .entitlements
            .verifier()
            .verify(entitlement, &identity.vin)
            .map_err(AlertCode::for_entitlement)?;
        if let Some(active) = car.options.iter().find(|active| active.entitlement_id == entitlement.entitlement_id) {
            return Ok(receipt(identity, active));
        }
        if car.settled.contains(&entitlement.entitlement_id) {
            return Err(AlertCode::OptionRefused);
        }
        let now = self.now().timestamp();
        entitlement.check_validity(now).map_err(AlertCode::for_entitlement)?;
        let conflicts = crate::catalogue::AFTER_DELIVERY
            .iter()
            .find(|add_on| add_on.code == entitlement.option.as_str())
            .is_some_and(|add_on| car.options.iter().any(|a| add_on.conflicts_with.contains(&a.option.as_str())));
        if conflicts || car.options.len() >= MAX_ACTIVE_OPTIONS {
            return Err(AlertCode::OptionRefused);
        }
        let active =
            ActiveOption { option: entitlement.option, entitlement_id: entitlement.entitlement_id, activated_at: now };
        tracing::info!(vin = %identity.vin, option = %active.option, "the car switched an option on");
        car.options.push(active.clone());
        Ok(receipt(identity, &active))
    }

    /// The car's signed report of its odometer and warnings now.
    fn telemetry(&self, identity: &CarIdentity, car: &CarMemory) -> TelemetryReport {
        let odometer_km = DELIVERY_KM.saturating_add(car.driven_km);
        let warning_codes: Vec<u8> = car.warnings.iter().take(MAX_WARNINGS).map(|w| w.wire()).collect();
        let measured_at = self.now().timestamp();
        let signed = TelemetryReport::signed_part(&identity.vin, odometer_km, &warning_codes, measured_at);
        TelemetryReport {
            vin: identity.vin.clone(),
            odometer_km,
            warning_codes,
            measured_at,
            signature: identity.sign(&signed),
        }
    }

    /// Over the connected-car network: the car's signed report of its odometer and warnings.
    pub fn telemetry_over_network(&self, vin: &Vin) -> Result<TelemetryReport, OutOfCoverage> {
        let identity = self.identity(vin);
        let mut memory = self.inner.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let car = memory.entry(vin.to_string()).or_default();
        if car.out_of_coverage {
            return Err(OutOfCoverage);
        }
        Ok(self.telemetry(&identity, car))
    }

    /// Sandbox: the car is driven `km` further and now warns about `warnings` (none: all clear).
    pub fn drive(&self, vin: &Vin, km: u32, warnings: Vec<WarningCode>) {
        let mut memory = self.inner.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let car = memory.entry(vin.to_string()).or_default();
        car.driven_km = car.driven_km.saturating_add(km);
        car.warnings = warnings;
    }

    /// Over the connected-car network: the car's receipt for an entitlement it took, if it took it;
    /// if not, the car refuses that entitlement from now on, so its "no" stays true. The platform
    /// asks before it refunds an option whose receipt never arrived.
    pub fn settle_over_network(&self, vin: &Vin, entitlement_id: Uuid) -> Result<Option<OptionReceipt>, OutOfCoverage> {
        let identity = self.identity(vin);
        let mut memory = self.inner.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let car = memory.entry(vin.to_string()).or_default();
        if car.out_of_coverage {
            return Err(OutOfCoverage);
        }
        let held =
            car.options.iter().find(|a| a.entitlement_id == entitlement_id).map(|active| receipt(&identity, active));
        if held.is_none() && !car.settled.contains(&entitlement_id) {
            car.settled.push(entitlement_id);
        }
        Ok(held)
    }

    /// Over the connected-car network: switches off the option an entitlement switched on (its
    /// purchase was refunded). Whether the car had it on.
    pub fn revoke_over_network(&self, vin: &Vin, entitlement_id: Uuid) -> Result<bool, OutOfCoverage> {
        let mut memory = self.inner.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let car = memory.entry(vin.to_string()).or_default();
        if car.out_of_coverage {
            return Err(OutOfCoverage);
        }
        let before = car.options.len();
        car.options.retain(|active| active.entitlement_id != entitlement_id);
        if !car.settled.contains(&entitlement_id) {
            car.settled.push(entitlement_id);
        }
        // A resent command must not be answered with the receipt of an option now off.
        car.replies
            .retain(|(_, reply)| !matches!(reply, Reply::OptionActivated(r) if r.entitlement_id == entitlement_id));
        let revoked = car.options.len() < before;
        if revoked {
            tracing::info!(%vin, %entitlement_id, "the car switched a refunded option off");
        }
        Ok(revoked)
    }

    /// Delivers an entitlement over the connected-car network: the car checks it as it would one
    /// from a phone and answers with its receipt, or its refusal.
    pub fn deliver_over_network(
        &self,
        vin: &Vin,
        entitlement: &[u8],
    ) -> Result<Result<OptionReceipt, AlertCode>, OutOfCoverage> {
        let identity = self.identity(vin);
        let mut memory = self.inner.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let car = memory.entry(vin.to_string()).or_default();
        if car.out_of_coverage {
            return Err(OutOfCoverage);
        }
        Ok(self.switch_on(&identity, car, entitlement))
    }

    /// Sandbox: puts the car out of the connected-car network's reach, or back in it.
    pub fn set_coverage(&self, vin: &Vin, connected: bool) {
        let mut memory = self.inner.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        memory.entry(vin.to_string()).or_default().out_of_coverage = !connected;
    }

    /// What the sandbox sees of a car.
    pub fn inspect(&self, vin: &Vin) -> VehicleInspection {
        let on_air = self.on_air().iter().any(|(v, _)| v == vin);
        let memory = self.inner.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let car = memory.get(vin.as_str());
        VehicleInspection {
            vin: vin.to_string(),
            on_air,
            linked_phones: car.map_or(0, |c| c.linked.len() as u32),
            links_executed: car.map_or(0, |c| c.links_executed),
            commands_executed: car.map_or(0, |c| c.commands_executed),
            options: car.map_or_else(Vec::new, |c| c.options.iter().map(|a| a.option.to_string()).collect()),
            connected: car.is_none_or(|c| !c.out_of_coverage),
        }
    }

    /// Makes the car's next `count` replies get lost after the car acted on the command.
    pub fn drop_replies(&self, vin: &Vin, count: u32) {
        let mut memory = self.inner.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        memory.entry(vin.to_string()).or_default().drop_replies = count;
    }
}

/// The car's signed statement that `active` is on.
fn receipt(identity: &CarIdentity, active: &ActiveOption) -> OptionReceipt {
    let signed = OptionReceipt::signed_part(&identity.vin, active.entitlement_id, &active.option, active.activated_at);
    OptionReceipt {
        vin: identity.vin.clone(),
        entitlement_id: active.entitlement_id,
        option: active.option.clone(),
        activated_at: active.activated_at,
        signature: identity.sign(&signed),
    }
}

/// The radio's name for a car in one epoch: as anonymous, and as short-lived, as its identifier.
fn peripheral_id(id: RotatingId) -> String {
    id.0.iter().fold(String::from("car-"), |mut name, byte| {
        name.push_str(&format!("{byte:02x}"));
        name
    })
}

fn derive(master: &hmac::Key, purpose: &str, vin: &str) -> [u8; 32] {
    let mut message = purpose.as_bytes().to_vec();
    message.push(0);
    message.extend_from_slice(vin.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(hmac::sign(master, &message).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use caas_protocol::pairing::{AlertCode, Grant, GrantRole};
    use uuid::Uuid;

    use super::*;

    fn fleet() -> (Fleet, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("mock.sqlite3")).expect("db");
        let clock = Clock::load(&db.lock()).expect("clock");
        (Fleet::new(&[9; 32], db, clock), dir)
    }

    fn grant(role: GrantRole) -> Grant {
        Grant {
            grant_id: Uuid::new_v4(),
            vin: Vin::parse("VCAUEX00000000001").expect("vin"),
            role,
            not_before: 0,
            not_after: i64::MAX,
            device_public_key: [4; 65],
        }
    }

    #[test]
    fn a_guest_key_reads_the_status_but_cannot_link_the_app() {
        let (fleet, _dir) = fleet();
        let car = fleet.identity(&Vin::parse("VCAUEX00000000001").expect("vin"));
        let guest = grant(GrantRole::Guest);
        let link = fleet.execute(&car, &guest, CommandId::random(), Request::LinkApp);
        assert_eq!(link, Some(Reply::Refused(AlertCode::NotPermitted)));
        let status = fleet.execute(&car, &guest, CommandId::random(), Request::ReadStatus);
        assert!(matches!(status, Some(Reply::Status(VehicleStatus { owner_linked: false, .. }))));
        assert_eq!(fleet.inspect(&car.vin).links_executed, 0);
    }

    #[test]
    fn a_command_sent_again_is_answered_from_memory_and_the_receipt_is_the_cars() {
        let (fleet, _dir) = fleet();
        let car = fleet.identity(&Vin::parse("VCAUEX00000000001").expect("vin"));
        let owner = grant(GrantRole::Owner);
        let id = CommandId::random();
        let first = fleet.execute(&car, &owner, id, Request::LinkApp);
        let again = fleet.execute(&car, &owner, id, Request::LinkApp);
        assert_eq!(first, again, "the same answer");
        assert_eq!(fleet.inspect(&car.vin).links_executed, 1, "linked once");
        let Some(Reply::Linked(receipt)) = first else { panic!("linked: {first:?}") };
        assert_eq!(receipt.verify(&car.public_key()), Ok(()));
        // Another grant cannot fish for that answer with the same command id.
        let other = fleet.execute(&car, &grant(GrantRole::Owner), id, Request::LinkApp);
        assert_eq!(fleet.inspect(&car.vin).links_executed, 2, "{other:?}");
    }

    #[test]
    fn a_key_revoked_or_past_its_end_is_refused_on_the_next_command() {
        let (fleet, _dir) = fleet();
        let car = fleet.identity(&Vin::parse("VCAUEX00000000001").expect("vin"));
        let owner = grant(GrantRole::Owner);
        let status = fleet.execute(&car, &owner, CommandId::random(), Request::ReadStatus);
        assert!(matches!(status, Some(Reply::Status(_))), "{status:?}");

        let ended = Grant { not_after: fleet.now().timestamp() - 1, ..grant(GrantRole::Owner) };
        let refused = fleet.execute(&car, &ended, CommandId::random(), Request::ReadStatus);
        assert_eq!(refused, Some(Reply::Refused(AlertCode::GrantExpired)));

        // The platform revokes the key while its session is open: the next command is refused.
        {
            let conn = fleet.inner.db.lock();
            conn.pragma_update(None, "foreign_keys", "OFF").expect("pragma");
            conn.execute_cached(
                "INSERT INTO pairing_grants (grant_id, order_id, vin, device_public_key, grant, not_before, not_after, issued_at, revoked_at)
                 VALUES (?1, 'order', 'VCAUEX00000000001', x'04', x'00', '', '', '', '2026-01-01T00:00:00Z')",
                [owner.grant_id.to_string()],
            )
            .expect("revoked");
        }
        let after = fleet.execute(&car, &owner, CommandId::random(), Request::ReadStatus);
        assert_eq!(after, Some(Reply::Refused(AlertCode::GrantRevoked)));
    }

    fn entitlement(fleet: &Fleet, vin: &str, not_after: i64) -> Vec<u8> {
        entitlement_for(fleet, vin, "heated-seats", not_after)
    }

    fn entitlement_for(fleet: &Fleet, vin: &str, option: &str, not_after: i64) -> Vec<u8> {
        fleet.entitlement_signer().sign(&caas_protocol::pairing::Entitlement {
            entitlement_id: Uuid::new_v4(),
            vin: Vin::parse(vin).expect("vin"),
            option: OptionCode::parse(option).expect("code"),
            not_before: 0,
            not_after,
        })
    }

    #[test]
    fn the_car_switches_on_only_its_own_entitlements_in_time_and_lists_them() {
        let (fleet, _dir) = fleet();
        let car = fleet.identity(&Vin::parse("VCAUEX00000000001").expect("vin"));
        let owner = grant(GrantRole::Owner);
        let later = fleet.now().timestamp() + 3_600;
        let activate = |bytes: Vec<u8>, role| {
            fleet.execute(&car, &grant(role), CommandId::random(), Request::ActivateOption(bytes))
        };
        let refused = |code| Some(Reply::Refused(code));
        assert_eq!(
            activate(entitlement(&fleet, "VCAUEX00000000002", later), GrantRole::Owner),
            refused(AlertCode::EntitlementWrongVehicle)
        );
        assert_eq!(
            activate(entitlement(&fleet, "VCAUEX00000000001", fleet.now().timestamp() - 1), GrantRole::Owner),
            refused(AlertCode::EntitlementExpired)
        );
        let (forger, _other) = {
            let dir = tempfile::tempdir().expect("tempdir");
            let db = Db::open(&dir.path().join("other.sqlite3")).expect("db");
            let clock = Clock::load(&db.lock()).expect("clock");
            (Fleet::new(&[7; 32], db, clock), dir)
        };
        assert_eq!(
            activate(entitlement(&forger, "VCAUEX00000000001", later), GrantRole::Owner),
            refused(AlertCode::EntitlementForged)
        );
        let genuine = entitlement(&fleet, "VCAUEX00000000001", later);
        assert_eq!(activate(genuine.clone(), GrantRole::Guest), refused(AlertCode::NotPermitted));
        let Some(Reply::OptionActivated(first)) = activate(genuine.clone(), GrantRole::Owner) else {
            panic!("activated")
        };
        assert_eq!(first.verify(&car.public_key()), Ok(()));
        // The same entitlement again (over the network this time) gives the same receipt.
        assert_eq!(fleet.deliver_over_network(&car.vin, &genuine), Ok(Ok(first.clone())));
        let listed = fleet.execute(&car, &owner, CommandId::random(), Request::ReadOptions);
        assert_eq!(listed, Some(Reply::Options(vec![first.option.clone()])));
        // An option that conflicts with one the car has is refused, however genuine.
        let eco = entitlement_for(&fleet, "VCAUEX00000000001", "eco-range-mode", later);
        let boost = entitlement_for(&fleet, "VCAUEX00000000001", "performance-boost", later);
        assert!(matches!(activate(eco, GrantRole::Owner), Some(Reply::OptionActivated(_))));
        assert_eq!(activate(boost, GrantRole::Owner), refused(AlertCode::OptionRefused));
        fleet.set_coverage(&car.vin, false);
        assert_eq!(fleet.deliver_over_network(&car.vin, &genuine), Err(OutOfCoverage));
        assert_eq!(fleet.settle_over_network(&car.vin, first.entitlement_id), Err(OutOfCoverage));
        assert!(!fleet.inspect(&car.vin).connected);
        fleet.set_coverage(&car.vin, true);
        assert_eq!(fleet.settle_over_network(&car.vin, first.entitlement_id), Ok(Some(first.clone())));
        assert_eq!(fleet.revoke_over_network(&car.vin, first.entitlement_id), Ok(true));
        assert_eq!(fleet.settle_over_network(&car.vin, first.entitlement_id), Ok(None));
        // Switched off, it stays off: the same entitlement again is refused.
        assert_eq!(activate(genuine.clone(), GrantRole::Owner), refused(AlertCode::OptionRefused));
        // The car's "no" is binding too: an entitlement it said it does not hold is refused after.
        let unanswered = entitlement(&fleet, "VCAUEX00000000001", later);
        let id = caas_protocol::pairing::Entitlement::read_unverified(&unanswered).expect("reads").0.entitlement_id;
        assert_eq!(fleet.settle_over_network(&car.vin, id), Ok(None));
        assert_eq!(activate(unanswered, GrantRole::Owner), refused(AlertCode::OptionRefused));
    }

    /// After its end, an entitlement the car took is still answered with its receipt (a phone
    /// whose receipt was lost asks again); one it never took is refused as expired.
    #[test]
    fn an_ended_entitlement_the_car_took_is_answered_with_its_receipt() {
        let (fleet, _dir) = fleet();
        let car = fleet.identity(&Vin::parse("VCAUEX00000000001").expect("vin"));
        let owner = grant(GrantRole::Owner);
        let end = fleet.now().timestamp() + 60;
        let taken = entitlement(&fleet, "VCAUEX00000000001", end);
        let first = fleet.execute(&car, &owner, CommandId::random(), Request::ActivateOption(taken.clone()));
        let never = entitlement_for(&fleet, "VCAUEX00000000001", "connected-navigation", end);
        fleet.inner.clock.advance(&fleet.inner.db.lock(), 3_600).expect("an hour later");
        let again = fleet.execute(&car, &owner, CommandId::random(), Request::ActivateOption(taken));
        assert_eq!(again, first);
        let late = fleet.execute(&car, &owner, CommandId::random(), Request::ActivateOption(never));
        assert_eq!(late, Some(Reply::Refused(AlertCode::EntitlementExpired)));
    }
    #[test]
    fn car_keys_come_from_the_seed_and_differ_per_car() {
        let (fleet, _dir) = fleet();
        let one = Vin::parse("VCAUEX00000000001").expect("vin");
        let two = Vin::parse("VCAUEX00000000002").expect("vin");
        assert_eq!(fleet.identity(&one).public_key(), fleet.identity(&one).public_key());
        assert_ne!(fleet.identity(&one).public_key(), fleet.identity(&two).public_key());
        let owner = Uuid::new_v4();
        assert_ne!(fleet.advertising_secret(&one, owner, 0), fleet.advertising_secret(&two, owner, 0));
        assert_ne!(
            fleet.advertising_secret(&one, owner, 0),
            fleet.advertising_secret(&one, owner, 1),
            "a revoked key changes it"
        );
        assert_ne!(
            fleet.advertising_secret(&one, owner, 0),
            fleet.advertising_secret(&one, Uuid::new_v4(), 0),
            "a new owner changes it"
        );
    }
}
