//! What to show for a push: the phone turns each platform event into the notification its
//! customer reads (title, body, channel, thread, link) in their language, once for every shell,
//! so the Android app, the iOS app and its Notification Service Extension show the same words.
//!
//! A push carries no personal data, so the words come from the event as the core synced it. When
//! the sync cannot finish (no signal, platform down) the customer still learns that something
//! happened, in the push's channel, and the app shows the rest when it opens.

use caas_protocol::messages::{self, Reader};
use caas_protocol::push::{NotificationChannel, PushHint};
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

impl Caas {
    /// Handles a push as [`Caas::handle_push`] does, then says what to show for it: nothing for a
    /// push handled before or not for this account, the event's words otherwise (also when a sync
    /// had already cached it: the customer has not been told yet), and a short notice in the
    /// push's channel when the platform could not be reached.
    #[tracing::instrument(skip_all)]
    pub async fn notification_for_push(&self, payload: &[u8], reader: Reader) -> Result<Option<NotificationContent>> {
        let hint = PushHint::parse(payload)?;
        let event_id = hint.event_id;
        if self.inner.store.read(move |conn| store::push_received(conn, event_id)).await? {
            return Ok(None);
        }
        match self.handle_push(payload).await {
            Ok(PushOutcome::Synced { .. } | PushOutcome::Duplicate) => {}
            Ok(PushOutcome::NotForThisAccount) => return Ok(None),
            Err(error) if error.is_unreachable() => {
                tracing::info!(order = %hint.order_id, error = %error.chain(), "push shown before its sync");
                return Ok(Some(partial(&hint, &reader)));
            }
            Err(error) => return Err(error),
        }
        let cached = self.inner.store.read(move |conn| store::event_with_car(conn, event_id)).await?;
        Ok(Some(match cached {
            Some((event, car)) => NotificationContent {
                event_id,
                order_id: event.order_id,
                title: messages::car_title(car.as_deref(), reader.language),
                body: messages::event_sentence(&event.kind, &reader),
                channel: NotificationChannel::of_event_type(event.kind.type_name()),
                thread: event.order_id.to_string(),
                link: order_link(event.order_id),
                partial: false,
            },
            // The push named an event the platform's log does not hold (yet): say what it can.
            None => partial(&hint, &reader),
        }))
    }
}

fn partial(hint: &PushHint, reader: &Reader) -> NotificationContent {
    NotificationContent {
        event_id: hint.event_id,
        order_id: hint.order_id,
        title: messages::car_title(None, reader.language),
        body: messages::update_sentence(reader.language).to_owned(),
        channel: hint.channel(),
        thread: hint.order_id.to_string(),
        link: order_link(hint.order_id),
        partial: true,
    }
}
