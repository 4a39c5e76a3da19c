//! The air around the simulated cars. A phone's simulated BLE link reaches it over a loopback
//! socket (a mock in another process) or an in-process pipe (a mock embedded in the same
//! program); both speak `caas_protocol::pairing::radio`.
//!
//! The link's character (MTU requested, connection interval, loss, disconnects) is the phone
//! side's to simulate; the air only caps the MTU at what the car supports and carries chunks.

use std::time::Instant;

use caas_protocol::pairing::radio::{MAX_RADIO_FRAME, RadioFrame};
use caas_protocol::pairing::{MAX_MTU, fragment};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream};
use tokio::net::TcpListener;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use super::Fleet;
use super::car::CarLink;

/// The largest ATT MTU the simulated cars accept.
pub const CAR_MAX_MTU: u16 = MAX_MTU;

/// Reaches the simulated cars.
#[derive(Debug, Clone)]
pub struct Radio {
    fleet: Fleet,
}

type Air<S> = Framed<S, LengthDelimitedCodec>;

impl Radio {
    pub(crate) fn new(fleet: Fleet) -> Self {
        Self { fleet }
    }

    /// Serves phones that connect to `listener` until `stop` completes.
    pub(crate) async fn serve(self, listener: TcpListener, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let radio = self.clone();
                        tokio::spawn(async move { radio.handle(stream).await });
                    }
                    Err(error) => tracing::warn!(%error, "radio accept failed"),
                },
                () = &mut stop => return,
            }
        }
    }

    /// A pipe to the air, for a phone core in the same process.
    pub fn connect_in_process(&self) -> DuplexStream {
        let (phone, air) = tokio::io::duplex(64 * 1024);
        let radio = self.clone();
        tokio::spawn(async move { radio.handle(air).await });
        phone
    }

    async fn handle<S: AsyncRead + AsyncWrite + Unpin>(self, stream: S) {
        let codec = LengthDelimitedCodec::builder().max_frame_length(MAX_RADIO_FRAME).new_codec();
        let mut air = Framed::new(stream, codec);
        if let Err(error) = self.converse(&mut air).await {
            tracing::debug!(%error, "radio connection ended");
        }
    }

    /// Scans and a connect; once connected, the rest of the stream is that link.
    async fn converse<S: AsyncRead + AsyncWrite + Unpin>(&self, air: &mut Air<S>) -> anyhow::Result<()> {
        while let Some(bytes) = air.next().await {
            match RadioFrame::parse(&bytes?)? {
                RadioFrame::Scan => {
                    let seen = self.fleet.on_air().into_iter().map(|(_, ad)| ad).collect();
                    send(air, RadioFrame::Advertisements(seen)).await?;
                }
                RadioFrame::Connect { peripheral_id, mtu } => {
                    let Some(vin) = self.fleet.find(&peripheral_id) else {
                        return send(air, RadioFrame::Disconnected { reason: "no such peripheral".into() }).await;
                    };
                    let mtu = mtu.min(CAR_MAX_MTU);
                    send(air, RadioFrame::Connected { mtu }).await?;
                    return self.link(air, CarLink::new(self.fleet.clone(), &vin), mtu).await;
                }
                RadioFrame::Disconnect => return Ok(()),
                _ => return send(air, RadioFrame::Disconnected { reason: "not connected".into() }).await,
            }
        }
        Ok(())
    }

    async fn link<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        air: &mut Air<S>,
        mut car: CarLink,
        mtu: u16,
    ) -> anyhow::Result<()> {
        let opened = Instant::now();
        while let Some(bytes) = air.next().await {
            match RadioFrame::parse(&bytes?)? {
                RadioFrame::Write(chunk) => {
                    let link_ms = u64::try_from(opened.elapsed().as_millis()).unwrap_or(u64::MAX);
                    let replies = car.on_chunk(&chunk, link_ms);
                    send(air, RadioFrame::WriteAck).await?;
                    for message in replies {
                        for chunk in fragment(&message, mtu)? {
                            send(air, RadioFrame::Indication(chunk)).await?;
                        }
                    }
                }
                RadioFrame::Disconnect => return Ok(()),
                _ => tracing::debug!("ignored a frame on a connected link"),
            }
        }
        Ok(())
    }
}

async fn send<S: AsyncRead + AsyncWrite + Unpin>(air: &mut Air<S>, frame: RadioFrame) -> anyhow::Result<()> {
    air.send(frame.encode().as_slice()).await?;
    Ok(())
}
