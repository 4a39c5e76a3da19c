//! A simulated BLE link to the platform mock's cars: the phone's side of
//! `caas_protocol::pairing::radio`, over a loopback socket or an in-process pipe.
//!
//! The link has the character of a real one: an ATT MTU, a connection interval that every write
//! with response and every indication waits for, packet loss that costs retransmissions (and
//! drops the link after six in a row, as a supervision timeout would), and a disconnect after a
//! chosen number of writes. Time on the air is counted, not slept, unless asked: tests stay
//! fast and the benchmark reports simulated milliseconds.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use caas_protocol::pairing::radio::{MAX_RADIO_FRAME, RadioFrame};
use caas_protocol::pairing::{MAX_MTU, MIN_MTU};
use futures_util::{SinkExt, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use super::transport::{Advertisement, BleLink, BleTransport, TransportError};

/// Losses in a row after which the link is considered gone.
const SUPERVISION_LOSSES: u32 = 6;
/// How long the air may take to answer a scan or a connect.
const AIR_TIMEOUT: Duration = Duration::from_secs(5);
/// The connection intervals the Bluetooth Core specification allows (7.5 ms to 4 s).
pub const MIN_CONNECTION_INTERVAL: Duration = Duration::from_micros(7_500);
pub const MAX_CONNECTION_INTERVAL: Duration = Duration::from_secs(4);

/// A byte stream to the simulated air.
pub trait AirStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AirStream for T {}

/// Where the simulated cars are.
#[derive(Clone)]
pub enum Air {
    /// A mock in another process: the address it printed as `car radio on ...`.
    Tcp(SocketAddr),
    /// A mock in this process.
    InProcess(Arc<dyn Fn() -> DuplexStream + Send + Sync>),
}

impl std::fmt::Debug for Air {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "Air::Tcp({addr})"),
            Self::InProcess(_) => f.write_str("Air::InProcess"),
        }
    }
}

/// The link's character.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConditions {
    /// The ATT MTU the phone asks for (23 to 517); the car may grant less.
    pub mtu: u16,
    /// Every write with response and every indication waits for the next connection event.
    pub connection_interval: Duration,
    /// Chance, in percent, that a packet is lost and sent again at the next connection event.
    pub loss_percent: u8,
    /// The link drops after this many writes.
    pub drop_after_writes: Option<u32>,
    /// Seed of the loss pattern, so a run can be repeated.
    pub seed: u64,
    /// Sleep the time spent on the air instead of only counting it.
    pub real_time: bool,
}

impl Default for LinkConditions {
    /// A typical phone link: MTU 185, a 30 ms connection interval, no loss.
    fn default() -> Self {
        Self {
            mtu: 185,
            connection_interval: Duration::from_millis(30),
            loss_percent: 0,
            drop_after_writes: None,
            seed: 0x5eed,
            real_time: false,
        }
    }
}

/// The simulated radio.
#[derive(Debug, Clone)]
pub struct SimulatedTransport {
    air: Air,
    conditions: LinkConditions,
}

impl SimulatedTransport {
    /// Conditions outside what a real link can have are brought to the nearest it can: the MTU
    /// and connection interval to their ranges in the Bluetooth specification, loss to 100%.
    pub fn new(air: Air, conditions: LinkConditions) -> Self {
        let conditions = LinkConditions {
            mtu: conditions.mtu.clamp(MIN_MTU, MAX_MTU),
            connection_interval: conditions.connection_interval.clamp(MIN_CONNECTION_INTERVAL, MAX_CONNECTION_INTERVAL),
            loss_percent: conditions.loss_percent.min(100),
            ..conditions
        };
        Self { air, conditions }
    }

    async fn dial(&self) -> Result<Framed<Box<dyn AirStream>, LengthDelimitedCodec>, TransportError> {
        let stream: Box<dyn AirStream> = match &self.air {
            Air::Tcp(addr) => Box::new(
                tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(|e| TransportError::Unavailable(format!("the simulated radio at {addr}: {e}")))?,
            ),
            Air::InProcess(connect) => Box::new(connect()),
        };
        Ok(Framed::new(stream, LengthDelimitedCodec::builder().max_frame_length(MAX_RADIO_FRAME).new_codec()))
    }
}

type AirFrames = Framed<Box<dyn AirStream>, LengthDelimitedCodec>;

async fn send(air: &mut AirFrames, frame: RadioFrame) -> Result<(), TransportError> {
    air.send(frame.encode().as_slice()).await.map_err(|e| TransportError::ConnectionLost(e.to_string()))
}

/// The next frame from the air, `None` on timeout.
async fn receive(air: &mut AirFrames, timeout: Duration) -> Result<Option<RadioFrame>, TransportError> {
    match tokio::time::timeout(timeout, air.next()).await {
        Err(_) => Ok(None),
        Ok(None) => Err(TransportError::ConnectionLost("the car went away".into())),
        Ok(Some(Err(e))) => Err(TransportError::ConnectionLost(e.to_string())),
        Ok(Some(Ok(bytes))) => RadioFrame::parse(&bytes)
            .map(Some)
            .map_err(|e| TransportError::ConnectionLost(format!("garbled radio frame: {e}"))),
    }
}

#[async_trait]
impl BleTransport for SimulatedTransport {
    async fn scan(&self, timeout: Duration) -> Result<Vec<Advertisement>, TransportError> {
        let mut air = self.dial().await?;
        send(&mut air, RadioFrame::Scan).await?;
        match receive(&mut air, timeout.min(AIR_TIMEOUT)).await? {
            Some(RadioFrame::Advertisements(seen)) => Ok(seen
                .into_iter()
                .map(|ad| Advertisement {
                    peripheral_id: ad.peripheral_id,
                    service_data: ad.rotating_id.0.to_vec(),
                    rssi: Some(i16::from(ad.rssi)),
                })
                .collect()),
            _ => Ok(Vec::new()),
        }
    }

    async fn connect(&self, peripheral_id: &str) -> Result<Box<dyn BleLink>, TransportError> {
        let mut air = self.dial().await?;
        send(&mut air, RadioFrame::Connect { peripheral_id: peripheral_id.to_owned(), mtu: self.conditions.mtu })
            .await?;
        match receive(&mut air, AIR_TIMEOUT).await? {
            Some(RadioFrame::Connected { mtu }) => Ok(Box::new(SimulatedLink {
                air,
                mtu,
                conditions: self.conditions,
                loss: LossPattern(self.conditions.seed | 1),
                // Connection setup and the MTU exchange: two connection events.
                air_time: self.conditions.connection_interval * 2,
                writes: 0,
                indications: VecDeque::new(),
                gone: false,
            })),
            Some(RadioFrame::Disconnected { reason }) => Err(TransportError::ConnectFailed(reason)),
            _ => Err(TransportError::ConnectFailed("the car did not answer".into())),
        }
    }
}

/// A repeatable pseudo-random loss pattern (xorshift64).
#[derive(Debug)]
struct LossPattern(u64);

impl LossPattern {
    fn lost(&mut self, percent: u8) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % 100 < u64::from(percent)
    }
}

struct SimulatedLink {
    air: AirFrames,
    mtu: u16,
    conditions: LinkConditions,
    loss: LossPattern,
    air_time: Duration,
    writes: u32,
    /// Indications that arrived while a write waited for its response.
    indications: VecDeque<Vec<u8>>,
    gone: bool,
}

impl std::fmt::Debug for SimulatedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedLink")
            .field("mtu", &self.mtu)
            .field("air_time", &self.air_time)
            .finish_non_exhaustive()
    }
}

impl SimulatedLink {
    /// One exchange on the air (a request and its response, or an indication and its
    /// confirmation): a connection event for each packet, one more for each loss.
    async fn exchange(&mut self) -> Result<(), TransportError> {
        let mut events = 1;
        for _packet in 0..2 {
            let mut losses = 0;
            while self.loss.lost(self.conditions.loss_percent) {
                losses += 1;
                events += 1;
                if losses == SUPERVISION_LOSSES {
                    return Err(self.lose("supervision timeout after repeated packet loss").await);
                }
            }
        }
        let spent = self.conditions.connection_interval * events;
        self.air_time += spent;
        if self.conditions.real_time {
            tokio::time::sleep(spent).await;
        }
        Ok(())
    }

    async fn lose(&mut self, reason: &str) -> TransportError {
        self.gone = true;
        let _closing_anyway = SinkExt::<&[u8]>::close(&mut self.air).await;
        TransportError::ConnectionLost(reason.to_owned())
    }
}

#[async_trait]
impl BleLink for SimulatedLink {
    fn mtu(&self) -> u16 {
        self.mtu
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<(), TransportError> {
        if self.gone {
            return Err(TransportError::ConnectionLost("the link is down".into()));
        }
        if chunk.len() > usize::from(self.mtu) - 3 {
            return Err(TransportError::ConnectionLost(format!("a {}-byte write exceeds the MTU", chunk.len())));
        }
        if self.conditions.drop_after_writes.is_some_and(|limit| self.writes >= limit) {
            return Err(self.lose("the car went out of range").await);
        }
        self.writes += 1;
        self.exchange().await?;
        send(&mut self.air, RadioFrame::Write(chunk.to_vec())).await?;
        loop {
            match receive(&mut self.air, AIR_TIMEOUT).await? {
                Some(RadioFrame::WriteAck) => return Ok(()),
                Some(RadioFrame::Indication(chunk)) => self.indications.push_back(chunk),
                Some(RadioFrame::Disconnected { reason }) => return Err(self.lose(&reason).await),
                Some(_) => {}
                None => return Err(self.lose("the write was not acknowledged").await),
            }
        }
    }

    async fn next_indication(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        let chunk = match self.indications.pop_front() {
            Some(chunk) => chunk,
            None if self.gone => return Err(TransportError::ConnectionLost("the link is down".into())),
            None => match receive(&mut self.air, timeout).await? {
                Some(RadioFrame::Indication(chunk)) => chunk,
                Some(RadioFrame::Disconnected { reason }) => return Err(self.lose(&reason).await),
                Some(_) | None => return Ok(None),
            },
        };
        self.exchange().await?;
        Ok(Some(chunk))
    }

    async fn disconnect(&mut self) {
        if !self.gone {
            let _already_gone_is_fine = send(&mut self.air, RadioFrame::Disconnect).await;
            self.gone = true;
        }
    }

    fn air_time(&self) -> Option<Duration> {
        Some(self.air_time)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr};

    use super::*;

    fn conditions_after_new(asked: LinkConditions) -> LinkConditions {
        SimulatedTransport::new(Air::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 9))), asked).conditions
    }

    #[test]
    fn conditions_no_link_can_have_are_brought_into_range() {
        let wild = conditions_after_new(LinkConditions {
            mtu: 9_000,
            connection_interval: Duration::MAX,
            loss_percent: 255,
            ..LinkConditions::default()
        });
        assert_eq!((wild.mtu, wild.connection_interval, wild.loss_percent), (MAX_MTU, MAX_CONNECTION_INTERVAL, 100));
        let tiny = conditions_after_new(LinkConditions {
            mtu: 0,
            connection_interval: Duration::ZERO,
            ..LinkConditions::default()
        });
        assert_eq!((tiny.mtu, tiny.connection_interval), (MIN_MTU, MIN_CONNECTION_INTERVAL));
        assert_eq!(conditions_after_new(LinkConditions::default()), LinkConditions::default());
    }
}
