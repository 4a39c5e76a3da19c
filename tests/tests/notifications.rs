//! What the customer reads: every push becomes a notification in the phone's language, written
//! from the event the core synced, once; without a connection the customer still learns that
//! something happened.

use caas_core::order_link;
use caas_core::protocol::OrderState;
use caas_core::protocol::api::EventKind;
use caas_core::protocol::messages::{Language, Reader, car_title, event_sentence, state_label, update_sentence};
use caas_core::protocol::push::{NotificationChannel, PushHint, PushPlatform};
use caas_e2e::Platform;

/// The APNs payloads the platform sent for an order, oldest first.
async fn apns_pushes(platform: &Platform, order: uuid::Uuid) -> anyhow::Result<Vec<Vec<u8>>> {
    let pushes = platform.sandbox.messages(Some(order), Some("apns")).await?;
    Ok(pushes.iter().map(|push| push["payload"].to_string().into_bytes()).collect())
}

/// Issue 15: the platform sent only silent pushes and the apps wrote "Now: in production" in
/// English with the state's wire name. Each push is shown as the core writes its event, in the
/// phone's language, grouped by order and opening the order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_push_is_shown_once_in_the_phones_language() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let email = "notified@example.com";
    let order = platform.sell_to(email).await?;
    let phone = platform.phone(email, dir.path()).await?;
    phone.register_push_device(PushPlatform::Apns, "apns-token-notified").await?;
    platform.build(order.id).await?;
    let log = platform.sandbox.order_events(order.id).await?;

    let pushes = apns_pushes(&platform, order.id).await?;
    assert!(pushes.len() >= 5, "the factory's progress was pushed: {}", pushes.len());
    let portuguese = Reader::on_phone("pt-PT", "Europe/Lisbon", 0);
    for payload in &pushes {
        let hint = PushHint::parse(payload)?;
        let event = log.iter().find(|e| e.event_id == hint.event_id).expect("the pushed event is in the log");
        let shown = phone.notification_for_push(payload, portuguese).await?.expect("a new push is shown");
        assert_eq!(shown.title, car_title(Some(&order.configuration.base_platform), Language::Portuguese));
        assert_eq!(shown.body, event_sentence(&event.kind, &portuguese));
        assert_eq!(shown.channel, NotificationChannel::of_event(&event.kind));
        assert_eq!(hint.channel, Some(shown.channel), "the push names the channel it is shown in");
        assert_eq!(
            (shown.thread.as_str(), shown.link.as_str()),
            (order.id.to_string().as_str(), order_link(order.id).as_str())
        );
        assert!(!shown.partial);
        if let EventKind::StateChanged { to: OrderState::InProduction, .. } = event.kind {
            assert!(shown.body.contains(&state_label(OrderState::InProduction, Language::Portuguese).to_lowercase()));
            assert!(!shown.body.contains("in_production"));
        }
        assert_eq!(phone.notification_for_push(payload, portuguese).await?, None, "the same push is shown once");
    }
    let due = pushes.last().expect("pushes");
    let spanish = Reader::on_phone("es_ES", "Europe/Madrid", 60);
    let other_phone = platform.phone(email, &dir.path().join("other")).await?;
    let shown = other_phone.notification_for_push(due, spanish).await?.expect("shown");
    assert_eq!(shown.channel, NotificationChannel::Payment);
    assert!(shown.body.starts_with("Tu coche está listo"), "{}", shown.body);
    Ok(())
}

/// Without a connection the push for an order this phone follows is still shown, in its channel
/// and language, saying only that the order changed: a push carries no personal data to say
/// more. A push for an order the phone does not hold (another account's, a forged one) shows
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_cannot_be_synced_is_still_shown() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let email = "offline@example.com";
    let order = platform.sell_to(email).await?;
    let phone = platform.phone(email, dir.path()).await?;
    phone.register_push_device(PushPlatform::Apns, "apns-token-offline").await?;
    phone.sync().await?;
    platform.build(order.id).await?;
    let pushes = apns_pushes(&platform, order.id).await?;
    let Platform { mock, dir: _platform_dir, .. } = platform;
    mock.stop().await;

    let due = pushes.last().expect("pushes");
    let spanish = Reader::on_phone("es-ES", "Europe/Madrid", 60);
    let shown = phone.notification_for_push(due, spanish).await?.expect("shown");
    assert!(shown.partial);
    assert_eq!(shown.channel, NotificationChannel::Payment, "the channel the push named");
    assert_eq!((shown.title.as_str(), shown.body.as_str()), ("urban-ev", update_sentence(Language::Spanish)));
    assert_eq!(shown.link, order_link(order.id));

    let mut stranger = PushHint::parse(due)?;
    stranger.order_id = uuid::Uuid::new_v4();
    stranger.event_id = uuid::Uuid::new_v4();
    let forged = serde_json::to_vec(&stranger.to_apns())?;
    assert_eq!(phone.notification_for_push(&forged, spanish).await?, None, "not an order of this phone");
    Ok(())
}
