//! The phone's side of one connection: messages cut into chunks and put back together, the
//! handshake, and commands with their responses (resent under the same id when a response is
//! lost, so the car answers from memory instead of acting twice).

use std::time::{Duration, Instant};

use caas_protocol::pairing::{
    AlertCode, Command, Content, ExpectedVehicle, PairingError, Reassembler, Reply, SUPPORTED_SUITES, Session,
    fragment, phone_start,
};
use ring::rand::SystemRandom;

use super::device_key::DeviceKey;
use super::transport::{BleLink, TransportError};
use crate::error::{CaasError, PairingFailure, Result};

/// What a pairing cost on the air, for the benchmark and the logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkReport {
    pub mtu: u16,
    /// From the first byte of the handshake to the car's first authenticated reply.
    pub to_first_reply: LinkUse,
    /// The whole connection.
    pub total: LinkUse,
}

/// Use of the link over a stretch of a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkUse {
    /// Times the phone sent a message and waited for the car's answer.
    pub round_trips: u32,
    pub bytes_to_car: u64,
    pub bytes_to_phone: u64,
    /// Time on the air, where the transport can tell.
    pub air_time: Option<Duration>,
}

pub(crate) struct Conversation {
    link: Box<dyn BleLink>,
    reassembler: Reassembler,
    opened: Instant,
    report: LinkReport,
    first_reply_seen: bool,
    rng: SystemRandom,
}

impl Conversation {
    pub(crate) fn new(link: Box<dyn BleLink>) -> Self {
        let mtu = link.mtu();
        Self {
            link,
            reassembler: Reassembler::new(),
            opened: Instant::now(),
            report: LinkReport { mtu, ..LinkReport::default() },
            first_reply_seen: false,
            rng: SystemRandom::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn report(&self) -> LinkReport {
        LinkReport { total: LinkUse { air_time: self.link.air_time(), ..self.report.total }, ..self.report }
    }

    pub(crate) async fn close(mut self) -> LinkReport {
        self.link.disconnect().await;
        self.report()
    }

    async fn send(&mut self, message: &[u8]) -> Result<()> {
        for chunk in fragment(message, self.link.mtu()).map_err(protocol_failure)? {
            self.link.write(&chunk).await.map_err(transport_failure)?;
            self.report.total.bytes_to_car += chunk.len() as u64;
        }
        Ok(())
    }

    /// The next whole message from the car, or `None` if it does not come within `timeout`.
    async fn receive(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let Some(chunk) = self.link.next_indication(left).await.map_err(transport_failure)? else {
                return Ok(None);
            };
            self.report.total.bytes_to_phone += chunk.len() as u64;
            match self.reassembler.push(&chunk, self.now_ms()) {
                Ok(Some(message)) => return Ok(Some(message)),
                Ok(None) => {}
                Err(error) => tracing::debug!(%error, "dropped a frame from the car"),
            }
        }
    }

    /// The three handshake messages: checks the car against the key the platform gave, signs
    /// with the device key, and returns the session.
    pub(crate) async fn authenticate(
        &mut self,
        expected: ExpectedVehicle,
        grant: &[u8],
        device_key: &dyn DeviceKey,
        timeout: Duration,
    ) -> Result<Session> {
        let (awaiting, hello) = phone_start(&self.rng, expected, &SUPPORTED_SUITES).map_err(protocol_failure)?;
        self.send(&hello).await?;
        self.report.total.round_trips += 1;
        let answer = self.receive(timeout).await?.ok_or_else(silent_car)?;
        let signing = awaiting.receive(&answer, self.now_ms()).map_err(protocol_failure)?;
        let signature = device_key.sign(signing.to_sign()).await?;
        let (session, auth) = signing.finish(grant, &signature).map_err(protocol_failure)?;
        self.send(&auth).await?;
        Ok(session)
    }

    /// Sends `command` and waits for the response that names it, sending it again (same id, new
    /// counter) up to `resends` times when none comes.
    pub(crate) async fn command(
        &mut self,
        session: &mut Session,
        command: Command,
        timeout: Duration,
        resends: u32,
    ) -> Result<Reply> {
        let mut counters = Vec::new();
        let id = command.id;
        let plaintext = Content::Command(command).encode();
        for _ in 0..=resends {
            let (counter, record) = session.seal(&plaintext, self.now_ms()).map_err(protocol_failure)?;
            counters.push(counter);
            self.send(&record).await?;
            self.report.total.round_trips += 1;
            while let Some(message) = self.receive(timeout).await? {
                match session.open(&message, self.now_ms()) {
                    Ok((_, plaintext)) => match Content::parse(&plaintext).map_err(protocol_failure)? {
                        // An answer to any send of this command will do: they are the same command.
                        Content::Response(response)
                            if response.command_id == id && counters.contains(&response.in_reply_to) =>
                        {
                            if !self.first_reply_seen {
                                self.first_reply_seen = true;
                                self.report.to_first_reply = self.report().total;
                            }
                            return Ok(response.reply);
                        }
                        Content::Alert(code) => return Err(refused(code)),
                        other => tracing::debug!(?other, "ignored a record that answers nothing pending"),
                    },
                    Err(PairingError::Refused(code)) => return Err(refused(code)),
                    Err(error) => tracing::info!(%error, "dropped a record from the car"),
                }
            }
            tracing::info!(resend = counters.len(), "no response from the car; sending the command again");
        }
        Err(silent_car())
    }
}

fn silent_car() -> CaasError {
    CaasError::pairing(PairingFailure::ConnectionLost, "the car stopped answering; try again")
}

pub(crate) fn transport_failure(error: TransportError) -> CaasError {
    let failure = match error {
        TransportError::Unavailable(_) => PairingFailure::BluetoothUnavailable,
        TransportError::ConnectFailed(_) | TransportError::ConnectionLost(_) | TransportError::ServiceMissing(_) => {
            PairingFailure::ConnectionLost
        }
    };
    CaasError::pairing(failure, error.to_string())
}

/// The car refused, saying why.
pub(crate) fn refused(code: AlertCode) -> CaasError {
    let failure = match code {
        AlertCode::GrantExpired => PairingFailure::GrantExpired,
        AlertCode::GrantNotYetValid => PairingFailure::GrantNotYetValid,
        AlertCode::GrantRevoked => PairingFailure::GrantRevoked,
        AlertCode::GrantWrongVehicle => PairingFailure::WrongCar,
        AlertCode::AuthenticationFailed => PairingFailure::AuthenticationFailed,
        AlertCode::NotPermitted => PairingFailure::NotPermitted,
        AlertCode::UnsupportedVersion | AlertCode::NoCommonSuite => PairingFailure::Incompatible,
        AlertCode::Malformed | AlertCode::Expired | AlertCode::Busy | AlertCode::Internal => {
            PairingFailure::ConnectionLost
        }
        AlertCode::EntitlementForged
        | AlertCode::EntitlementWrongVehicle
        | AlertCode::EntitlementNotYetValid
        | AlertCode::OptionRefused => PairingFailure::EntitlementRefused,
        AlertCode::EntitlementExpired => PairingFailure::EntitlementExpired,
    };
    CaasError::pairing(failure, format!("the car refused: {code}"))
}

/// A protocol failure on the phone's side of the handshake or a record.
fn protocol_failure(error: PairingError) -> CaasError {
    match error {
        PairingError::Refused(code) => refused(code),
        PairingError::WrongVehicle => {
            CaasError::pairing(PairingFailure::WrongCar, "the car could not prove it is your car; nothing was sent")
        }
        PairingError::UnsupportedVersion(_) | PairingError::NoCommonSuite => {
            CaasError::pairing(PairingFailure::Incompatible, error.to_string())
        }
        other => {
            CaasError::pairing(PairingFailure::ConnectionLost, format!("the exchange with the car failed: {other}"))
        }
    }
}
