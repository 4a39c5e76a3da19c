//! One phone's connection to one car: chunks in, messages out, through the handshake and into an
//! authenticated session.
//!
//! A record that fails any check is dropped without an answer, so a forger learns nothing; only
//! an authentic command that expired is answered (sealed), so the owner's phone can say why.

use caas_protocol::pairing::{
    AlertCode, AwaitingClientAuth, CarIdentity, ClientHello, Content, Grant, MessageType, PairingError, Reassembler,
    Response, Session, Vin, car_respond,
};
use ring::rand::SystemRandom;

use super::Fleet;

enum Stage {
    /// Waiting for a `ClientHello`.
    Idle,
    // Boxed: the states differ in size by a kilobyte of key schedule.
    AwaitingAuth(Box<AwaitingClientAuth>),
    Established(Box<(Session, Grant)>),
}

/// The car's end of one connection.
pub(super) struct CarLink {
    fleet: Fleet,
    identity: CarIdentity,
    rng: SystemRandom,
    reassembler: Reassembler,
    stage: Stage,
}

impl CarLink {
    pub(super) fn new(fleet: Fleet, vin: &Vin) -> Self {
        let identity = fleet.identity(vin);
        Self { fleet, identity, rng: SystemRandom::new(), reassembler: Reassembler::new(), stage: Stage::Idle }
    }

    /// Takes one written chunk that arrived at `link_ms` (milliseconds since the connection
    /// opened); returns the messages to indicate back.
    pub(super) fn on_chunk(&mut self, chunk: &[u8], link_ms: u64) -> Vec<Vec<u8>> {
        match self.reassembler.push(chunk, link_ms) {
            Ok(Some(message)) => self.on_message(&message),
            Ok(None) => Vec::new(),
            Err(error) => {
                tracing::debug!(%error, "dropped a frame");
                Vec::new()
            }
        }
    }

    fn on_message(&mut self, message: &[u8]) -> Vec<Vec<u8>> {
        let now = self.fleet.now();
        let now_ms = u64::try_from(now.timestamp_millis()).unwrap_or_default();
        let stage = std::mem::replace(&mut self.stage, Stage::Idle);
        let (next, replies) = match (MessageType::of(message), stage) {
            // A new hello starts over, whatever state the connection was in, with the owner's
            // advertising key as the platform has it now (a key revoked a moment ago included).
            (Ok(MessageType::ClientHello), _) => {
                if ClientHello::parse(message).is_ok() {
                    self.identity = self.fleet.on_the_road(&self.identity.vin);
                }
                match car_respond(&self.identity, &self.rng, message, now_ms) {
                    Ok((awaiting, answer)) => (Stage::AwaitingAuth(Box::new(awaiting)), vec![answer]),
                    Err(refusal) => {
                        tracing::info!(error = %refusal.error, "refused a hello");
                        (Stage::Idle, refusal.alert.into_iter().collect())
                    }
                }
            }
            (Ok(MessageType::ClientAuth), Stage::AwaitingAuth(awaiting)) => {
                let fleet = self.fleet.clone();
                match awaiting.receive(&self.identity, message, now.timestamp(), &|id| fleet.is_revoked(id)) {
                    Ok((session, grant)) => {
                        tracing::info!(vin = %self.identity.vin, grant = %grant.grant_id, "phone authenticated");
                        (Stage::Established(Box::new((session, grant))), Vec::new())
                    }
                    Err(refusal) => {
                        tracing::info!(vin = %self.identity.vin, error = %refusal.error, "refused a phone");
                        (Stage::Idle, refusal.alert.into_iter().collect())
                    }
                }
            }
            (Ok(MessageType::Record), Stage::Established(mut established)) => {
                let (session, grant) = &mut *established;
                let replies = self.on_record(session, grant, message, now_ms);
                if self.fleet.lapsed(grant).is_some() {
                    // The key lapsed during the session: the answer said so, and the session ends.
                    tracing::info!(vin = %self.identity.vin, grant = %grant.grant_id, "closed the session of a lapsed key");
                    (Stage::Idle, replies)
                } else {
                    (Stage::Established(established), replies)
                }
            }
            (kind, stage) => {
                tracing::debug!(?kind, "a message the car does not expect now");
                (stage, Vec::new())
            }
        };
        self.stage = next;
        replies
    }

    fn on_record(&self, session: &mut Session, grant: &Grant, message: &[u8], now_ms: u64) -> Vec<Vec<u8>> {
        let sealed = |session: &mut Session, content: Content| match session.seal(&content.encode(), now_ms) {
            Ok((_, record)) => vec![record],
            Err(error) => {
                tracing::warn!(%error, "could not seal a reply");
                Vec::new()
            }
        };
        let (counter, plaintext) = match session.open(message, now_ms) {
            Ok(opened) => opened,
            Err(PairingError::Expired) => return sealed(session, Content::Alert(AlertCode::Expired)),
            Err(error) => {
                tracing::info!(%error, "dropped a record");
                return Vec::new();
            }
        };
        let command = match Content::parse(&plaintext) {
            Ok(Content::Command(command)) => command,
            _ => return sealed(session, Content::Alert(AlertCode::Malformed)),
        };
        match self.fleet.execute(&self.identity, grant, command.id, command.request) {
            Some(reply) => {
                sealed(session, Content::Response(Response { in_reply_to: counter, command_id: command.id, reply }))
            }
            None => Vec::new(),
        }
    }
}
