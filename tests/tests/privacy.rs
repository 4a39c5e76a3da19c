//! A customer never sees another customer's order: not through the API, not through a push.

use caas_core::protocol::push::PushHint;
use caas_core::{CaasError, PushOutcome};
use caas_e2e::Platform;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_customers_order_is_not_found_and_its_push_is_ignored() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let order_a = platform.sell_to("alice@example.com").await?;
    let _order_b = platform.sell_to("bob@example.com").await?;
    let _alice = platform.phone("alice@example.com", dir_a.path()).await?;
    let bob = platform.phone("bob@example.com", dir_b.path()).await?;
    bob.sync().await?;
    let before = bob.orders().await?;
    assert_eq!(before.len(), 1);

    assert!(matches!(bob.sync_order(order_a.id).await, Err(CaasError::NotFound(_))));

    // A push naming Alice's order, delivered to Bob's phone (a mis-routed or forged push).
    let hint = PushHint {
        event_id: uuid::Uuid::new_v4(),
        order_id: order_a.id,
        order_version: 1,
        kind: "state_changed".into(),
        channel: None,
    };
    let outcome = bob.handle_push(hint.to_sse_frame().as_bytes()).await?;
    assert_eq!(outcome, PushOutcome::NotForThisAccount);
    assert_eq!(bob.orders().await?, before, "nothing of Alice's order was stored");
    assert!(matches!(bob.order(order_a.id).await, Err(CaasError::NotFound(_))));

    // The raw API answers 404 too, for both the order and its log.
    let token = platform.customer_token("bob@example.com").await?;
    let http = reqwest::Client::new();
    for path in [format!("/v1/orders/{}", order_a.id), format!("/v1/orders/{}/events", order_a.id)] {
        let status = http.get(format!("{}{path}", platform.url())).bearer_auth(&token).send().await?.status();
        assert_eq!(status, 404, "{path}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_pushes_are_refused_with_a_typed_error() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    platform.sell_to("carol@example.com").await?;
    let phone = platform.phone("carol@example.com", dir.path()).await?;
    phone.sync().await?;
    let before = phone.orders().await?;
    for bad in [vec![b'{'; 5000], b"{\"aps\":{}}".to_vec(), b"event: order_event\ndata: {\"event_id\":1}\n\n".to_vec()]
    {
        assert!(matches!(phone.handle_push(&bad).await, Err(CaasError::InvalidPush(_))));
    }
    assert_eq!(phone.orders().await?, before);
    Ok(())
}
