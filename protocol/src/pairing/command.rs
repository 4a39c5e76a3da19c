//! What travels inside records: commands, the responses that name them, and alerts.

use ring::digest::{SHA256, digest};
use ring::signature::{ED25519, UnparsedPublicKey};
use uuid::Uuid;

use super::entitlement::{MAX_ENTITLEMENT_LEN, OptionReceipt, read_option};
use super::telemetry::TelemetryReport;
use super::wire::{self, Layout, Reader, Writer};
use super::{AlertCode, PairingError, Vin};
use crate::options::OptionCode;

const LINK_CONTEXT: &[u8] = b"CAAS-LINK-v1\0";

/// Names a command across resends: a command sent again after a lost response carries the same
/// id, so the car answers it from memory instead of running it twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandId(pub [u8; 16]);

impl CommandId {
    pub fn random() -> Self {
        Self(*Uuid::new_v4().as_bytes())
    }
}

/// The most options a car holds after delivery: its answer listing them fits one BLE message.
pub const MAX_ACTIVE_OPTIONS: usize = 16;

/// What the phone asks of the car.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Link this app to the car as its owner's; the car answers with a signed receipt.
    LinkApp,
    ReadStatus,
    /// Switch on the option a platform-signed entitlement names (its bytes, as the platform
    /// signed them); the car answers with a signed receipt.
    ActivateOption(Vec<u8>),
    /// The options switched on after delivery. Its own request, not a field of the status, so the
    /// status reads as it always did for phones that know nothing of options.
    ReadOptions,
    /// The car's signed report of its odometer and warnings, for the platform.
    ReadTelemetry,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub id: CommandId,
    pub request: Request,
}

/// The car's signed statement that it linked a device, which the phone forwards to the
/// platform: the platform marks the car linked on the car's word, not the phone's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkReceipt {
    pub vin: Vin,
    pub grant_id: Uuid,
    /// SHA-256 of the linked device's public key.
    pub device_key_digest: [u8; 32],
    /// Unix seconds of the car's clock.
    pub linked_at: i64,
    pub signature: [u8; 64],
}

impl LinkReceipt {
    pub fn device_key_digest(device_public_key: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, device_public_key).as_ref());
        out
    }

    /// The bytes the vehicle key signs.
    pub fn signed_part(vin: &Vin, grant_id: Uuid, device_key_digest: &[u8; 32], linked_at: i64) -> Vec<u8> {
        let mut w = Writer::with_capacity(LINK_CONTEXT.len() + 73);
        w.bytes(LINK_CONTEXT)
            .bytes(vin.as_str().as_bytes())
            .bytes(grant_id.as_bytes())
            .bytes(device_key_digest)
            .i64(linked_at);
        w.into_vec()
    }

    /// Checks the car's signature with its public key (Ed25519, 32 bytes).
    pub fn verify(&self, vehicle_public_key: &[u8]) -> Result<(), PairingError> {
        let signed = Self::signed_part(&self.vin, self.grant_id, &self.device_key_digest, self.linked_at);
        signed_by_car(vehicle_public_key, &signed, &self.signature)
    }

    pub fn encode(&self) -> Vec<u8> {
        wire::encode(self)
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, PairingError> {
        wire::decode(bytes)
    }
}

/// Whether `signature` is the car's, by its public key (Ed25519, 32 bytes), over `signed`.
pub(crate) fn signed_by_car(
    vehicle_public_key: &[u8],
    signed: &[u8],
    signature: &[u8; 64],
) -> Result<(), PairingError> {
    UnparsedPublicKey::new(&ED25519, vehicle_public_key)
        .verify(signed, signature)
        .map_err(|_| PairingError::WrongVehicle)
}

impl Layout for LinkReceipt {
    fn write(&self, w: &mut Writer) {
        w.bytes(self.vin.as_str().as_bytes())
            .bytes(self.grant_id.as_bytes())
            .bytes(&self.device_key_digest)
            .i64(self.linked_at)
            .bytes(&self.signature);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, PairingError> {
        let vin = Vin::parse(std::str::from_utf8(r.bytes(17)?).map_err(|_| PairingError::Malformed("not a VIN"))?)?;
        Ok(Self {
            vin,
            grant_id: Uuid::from_bytes(r.array()?),
            device_key_digest: r.array()?,
            linked_at: r.i64()?,
            signature: r.array()?,
        })
    }
}

/// What the car reports about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VehicleStatus {
    pub odometer_km: u32,
    pub battery_percent: u8,
    pub locked: bool,
    /// Whether an owner's app is linked.
    pub owner_linked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Linked(LinkReceipt),
    Status(VehicleStatus),
    Refused(AlertCode),
    OptionActivated(OptionReceipt),
    /// The options switched on after delivery, at most [`MAX_ACTIVE_OPTIONS`].
    Options(Vec<OptionCode>),
    Telemetry(TelemetryReport),
}

/// The car's answer; it names the record and the command it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The counter of the record that carried the command.
    pub in_reply_to: u64,
    pub command_id: CommandId,
    pub reply: Reply,
}

/// The plaintext of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Command(Command),
    Response(Response),
    Alert(AlertCode),
}

impl Content {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(160);
        match self {
            Self::Command(command) => {
                w.u8(1).bytes(&command.id.0);
                match &command.request {
                    Request::LinkApp => w.u8(1),
                    Request::ReadStatus => w.u8(2),
                    Request::ActivateOption(entitlement) => w.u8(3).field(entitlement),
                    Request::ReadOptions => w.u8(4),
                    Request::ReadTelemetry => w.u8(5),
                };
            }
            Self::Response(response) => {
                w.u8(2).u64(response.in_reply_to).bytes(&response.command_id.0);
                match &response.reply {
                    Reply::Linked(receipt) => {
                        w.u8(1);
                        receipt.write(&mut w);
                    }
                    Reply::Status(status) => {
                        w.u8(2)
                            .u32(status.odometer_km)
                            .u8(status.battery_percent)
                            .u8(u8::from(status.locked))
                            .u8(u8::from(status.owner_linked));
                    }
                    Reply::Refused(code) => {
                        w.u8(3).u8(*code as u8);
                    }
                    Reply::OptionActivated(receipt) => {
                        w.u8(4);
                        receipt.write(&mut w);
                    }
                    Reply::Options(options) => {
                        let options = &options[..options.len().min(MAX_ACTIVE_OPTIONS)];
                        // At most 16: a byte holds the count.
                        w.u8(5).u8(options.len() as u8);
                        for option in options {
                            w.short_field(option.as_str().as_bytes());
                        }
                    }
                    Reply::Telemetry(report) => {
                        w.u8(6);
                        report.write(&mut w);
                    }
                }
            }
            Self::Alert(code) => {
                w.u8(3).u8(*code as u8);
            }
        }
        w.into_vec()
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, PairingError> {
        let mut r = Reader::new(bytes);
        let content = match r.u8()? {
            1 => {
                let id = CommandId(r.array()?);
                let request = match r.u8()? {
                    1 => Request::LinkApp,
                    2 => Request::ReadStatus,
                    3 => {
                        let entitlement = r.field()?;
                        if entitlement.len() > MAX_ENTITLEMENT_LEN {
                            return Err(PairingError::Oversized(entitlement.len()));
                        }
                        Request::ActivateOption(entitlement.to_vec())
                    }
                    4 => Request::ReadOptions,
                    5 => Request::ReadTelemetry,
                    _ => return Err(PairingError::Malformed("unknown request")),
                };
                Self::Command(Command { id, request })
            }
            2 => {
                let in_reply_to = r.u64()?;
                let command_id = CommandId(r.array()?);
                let reply = match r.u8()? {
                    1 => Reply::Linked(LinkReceipt::read(&mut r)?),
                    2 => Reply::Status(VehicleStatus {
                        odometer_km: r.u32()?,
                        battery_percent: r.u8()?.min(100),
                        locked: flag(r.u8()?)?,
                        owner_linked: flag(r.u8()?)?,
                    }),
                    3 => Reply::Refused(AlertCode::from_wire(r.u8()?)?),
                    4 => Reply::OptionActivated(OptionReceipt::read(&mut r)?),
                    5 => {
                        let count = usize::from(r.u8()?);
                        if count > MAX_ACTIVE_OPTIONS {
                            return Err(PairingError::Malformed("too many options"));
                        }
                        Reply::Options((0..count).map(|_| read_option(&mut r)).collect::<Result<_, _>>()?)
                    }
                    6 => Reply::Telemetry(TelemetryReport::read(&mut r)?),
                    _ => return Err(PairingError::Malformed("unknown reply")),
                };
                Self::Response(Response { in_reply_to, command_id, reply })
            }
            3 => Self::Alert(AlertCode::from_wire(r.u8()?)?),
            _ => return Err(PairingError::Malformed("unknown content")),
        };
        r.finish()?;
        Ok(content)
    }
}

fn flag(byte: u8) -> Result<bool, PairingError> {
    match byte {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(PairingError::Malformed("flag is neither 0 nor 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_content_reads_back() {
        let receipt = LinkReceipt {
            vin: Vin::parse("VCAUEX00000000001").expect("vin"),
            grant_id: Uuid::new_v4(),
            device_key_digest: [7; 32],
            linked_at: 1_800_000_000,
            signature: [9; 64],
        };
        let status = VehicleStatus { odometer_km: 12, battery_percent: 80, locked: true, owner_linked: true };
        let option_receipt = OptionReceipt {
            vin: Vin::parse("VCAUEX00000000001").expect("vin"),
            entitlement_id: Uuid::new_v4(),
            option: OptionCode::parse("heated-seats").expect("code"),
            activated_at: 1_800_000_000,
            signature: [5; 64],
        };
        for content in [
            Content::Command(Command { id: CommandId::random(), request: Request::LinkApp }),
            Content::Command(Command { id: CommandId::random(), request: Request::ReadStatus }),
            Content::Command(Command { id: CommandId::random(), request: Request::ActivateOption(vec![1; 160]) }),
            Content::Command(Command { id: CommandId::random(), request: Request::ReadOptions }),
            Content::Command(Command { id: CommandId::random(), request: Request::ReadTelemetry }),
            Content::Response(Response {
                in_reply_to: 8,
                command_id: CommandId::random(),
                reply: Reply::Telemetry(TelemetryReport {
                    vin: Vin::parse("VCAUEX00000000001").expect("vin"),
                    odometer_km: 18_500,
                    warning_codes: vec![2],
                    measured_at: 1_800_000_000,
                    signature: [6; 64],
                }),
            }),
            Content::Response(Response {
                in_reply_to: 7,
                command_id: CommandId::random(),
                reply: Reply::Options(vec![OptionCode::parse("heated-seats").expect("code")]),
            }),
            Content::Response(Response {
                in_reply_to: 6,
                command_id: CommandId::random(),
                reply: Reply::OptionActivated(option_receipt),
            }),
            Content::Response(Response {
                in_reply_to: 3,
                command_id: CommandId::random(),
                reply: Reply::Linked(receipt.clone()),
            }),
            Content::Response(Response {
                in_reply_to: 4,
                command_id: CommandId::random(),
                reply: Reply::Status(status),
            }),
            Content::Response(Response {
                in_reply_to: 5,
                command_id: CommandId::random(),
                reply: Reply::Refused(AlertCode::NotPermitted),
            }),
            Content::Alert(AlertCode::Expired),
        ] {
            assert_eq!(Content::parse(&content.encode()), Ok(content.clone()));
            let mut longer = content.encode();
            longer.push(0);
            assert!(Content::parse(&longer).is_err(), "trailing bytes are refused");
        }
        assert_eq!(LinkReceipt::parse(&receipt.encode()), Ok(receipt));
    }

    /// The status keeps the layout phones read before options existed: a phone that knows nothing
    /// of options still reads a newer car's status.
    #[test]
    fn the_status_reads_as_it_always_did() {
        let status = VehicleStatus { odometer_km: 0x0102_0304, battery_percent: 81, locked: true, owner_linked: false };
        let id = CommandId([7; 16]);
        let encoded =
            Content::Response(Response { in_reply_to: 9, command_id: id, reply: Reply::Status(status) }).encode();
        let mut expected = vec![2, 0, 0, 0, 0, 0, 0, 0, 9];
        expected.extend_from_slice(&[7; 16]);
        expected.extend_from_slice(&[2, 1, 2, 3, 4, 81, 1, 0]);
        assert_eq!(encoded, expected);
    }

    #[test]
    fn the_longest_option_list_fits_a_message_and_longer_ones_or_entitlements_are_refused() {
        let longest = OptionCode::parse(&"o".repeat(crate::options::MAX_OPTION_CODE_LEN)).expect("code");
        let full = Content::Response(Response {
            in_reply_to: u64::MAX,
            command_id: CommandId([0; 16]),
            reply: Reply::Options(vec![longest; MAX_ACTIVE_OPTIONS]),
        });
        // Room is left for the record's header and tag around it.
        assert!(full.encode().len() + 64 <= super::super::MAX_MESSAGE_LEN, "{}", full.encode().len());
        let mut many = Content::Response(Response {
            in_reply_to: 1,
            command_id: CommandId([0; 16]),
            reply: Reply::Options(Vec::new()),
        })
        .encode();
        *many.last_mut().expect("count") = MAX_ACTIVE_OPTIONS as u8 + 1;
        assert!(Content::parse(&many).is_err());
        let big = Content::Command(Command { id: CommandId([0; 16]), request: Request::ActivateOption(vec![0; 600]) });
        assert_eq!(Content::parse(&big.encode()), Err(PairingError::Oversized(600)));
    }
}
