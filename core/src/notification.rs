//! What to show for a push: the phone turns each platform event into the notification its
//! customer reads (title, body, channel, thread, link) in their language, once for every shell,
//! so the Android app, the iOS app and its Notification Service Extension show the same words.
//!
//! A push carries no personal data, so the words come from the event as the core synced it. When
//! the sync cannot finish in time (no signal, the platform down) the customer of an order this
//! phone follows still learns that something happened, in the push's channel, and the app shows
//! the rest when it opens.

use caas_protocol::messages::{self, Reader};
use caas_protocol::push::{NotificationChannel, PushHint};
use std::time::Duration;

use uuid::Uuid;

use crate::client::Caas;
use crate::error::Result;
use crate::store;
use crate::updates::PushOutcome;

/// A notification to show, in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationContent {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub title: String,
    pub body: String,
    pub channel: NotificationChannel,
    /// Notifications of one order are grouped together and replace each other.
    pub thread: String,
    /// The app's link to the order's screen.
    pub link: String,
    /// Written from the push alone: the order could not be synced in time.
    pub partial: bool,
}

/// The app's link to an order's screen.
pub fn order_link(order_id: Uuid) -> String {
    format!("caas://order/{order_id}")
}

/// How long the core spends on a push before it shows what it has: both push services give their
/// handler more (FCM about ten seconds, a Notification Service Extension thirty), and a slow
/// network must not leave the customer with nothing.
pub const PUSH_BUDGET: Duration = Duration::from_secs(5);

impl Caas {
    /// Handles a push as [`Caas::handle_push`] does, then says what to show for it: nothing for a
    /// push handled before or not for this account, the event's words otherwise (also when a sync
    /// had already cached it: the customer has not been told yet). When the sync cannot finish
    /// within [`PUSH_BUDGET`] (no signal, the platform down or slow, the session gone), an order
    /// this phone follows still gets a short notice in the push's channel; a push for an order it
    /// does not hold shows nothing.
    #[tracing::instrument(skip_all)]
    pub async fn notification_for_push(&self, payload: &[u8], reader: Reader) -> Result<Option<NotificationContent>> {
        let hint = PushHint::parse(payload)?;
        let event_id = hint.event_id;
        if self.inner.store.read(move |conn| store::push_received(conn, event_id)).await? {
            return Ok(None);
        }
        let handled = tokio::time::timeout(PUSH_BUDGET, self.handle_hint(hint.clone())).await;
        match handled {
            Ok(Ok(PushOutcome::Synced { .. } | PushOutcome::Duplicate)) => {}
            Ok(Ok(PushOutcome::NotForThisAccount)) => return Ok(None),
            Ok(Err(error)) => {
                tracing::info!(order = %hint.order_id, error = %error.chain(), "push shown before its sync");
                return self.partial(&hint, &reader).await;
            }
            Err(_) => {
                tracing::info!(order = %hint.order_id, "push shown before its sync: out of time");
                return self.partial(&hint, &reader).await;
            }
        }
        let (order_id, event_id) = (hint.order_id, hint.event_id);
        let cached = self.inner.store.read(move |conn| store::event_with_car(conn, order_id, event_id)).await?;
        Ok(match cached {
            Some((event, car)) => Some(NotificationContent {
                event_id,
                order_id,
                title: messages::car_title(car.as_deref(), reader.language),
                body: messages::event_sentence(&event.kind, &reader),
                channel: NotificationChannel::of_event(&event.kind),
                thread: order_id.to_string(),
                link: order_link(order_id),
                partial: false,
            }),
            // The push named an event the order's log does not hold (yet): say what it can.
            None => self.partial(&hint, &reader).await?,
        })
    }

    /// A short notice for a push whose event is not cached, for an order this phone follows.
    async fn partial(&self, hint: &PushHint, reader: &Reader) -> Result<Option<NotificationContent>> {
        let order_id = hint.order_id;
        let Some(car) = self.inner.store.read(move |conn| store::order_car(conn, order_id)).await? else {
            return Ok(None);
        };
        Ok(Some(NotificationContent {
            event_id: hint.event_id,
            order_id,
            title: messages::car_title(Some(&car), reader.language),
            body: messages::update_sentence(reader.language).to_owned(),
            channel: hint.channel.unwrap_or(NotificationChannel::Manufacturing),
            thread: order_id.to_string(),
            link: order_link(order_id),
            partial: true,
        }))
    }
}
