//! The delivery day's expected arrival (issue 14): the driver's phone plans it for every car on
//! the way at departure and after each stop, the driver reports delays with their reason, the
//! platform keeps each estimate on the delivery and tells the customer when it moves by the
//! margin or more and when the driver is one stop away; the customer sees it offline too.

use caas_core::protocol::OrderState;
use caas_core::protocol::api::{ErrorCode, EventKind};
use caas_core::protocol::arrival::{EtaReason, STOP};
use caas_core::{CaasError, EstimatesSent};
use caas_e2e::{BookedCustomer, DRIVER, NO_SIGNAL, Platform, open_phone};
use uuid::Uuid;

const ADDRESSES: [&str; 3] = [
    "Calle de Atocha 20, 28012 Madrid",
    "Paseo de la Castellana 200, 28046 Madrid",
    "Calle de Alcalá 500, 28027 Madrid",
];

/// The transport company that carries a customer's car.
async fn company(customer: &BookedCustomer) -> anyhow::Result<String> {
    Ok(customer.core.order(customer.order).await?.delivery.map(|d| d.company.id).unwrap_or_default())
}

async fn told(platform: &Platform, order: Uuid) -> anyhow::Result<Vec<(u32, EtaReason)>> {
    Ok(platform
        .sandbox
        .order_events(order)
        .await?
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::ArrivalEstimated { estimate, .. } => Some((estimate.stops_before, estimate.reason)),
            _ => None,
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expected_arrival_is_planned_revised_on_the_way_and_told_when_it_matters() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    // Madrid is served by two companies, each taking the earliest free window: of five cars, one
    // company carries at least three, on one truck.
    let dirs =
        [tempfile::tempdir()?, tempfile::tempdir()?, tempfile::tempdir()?, tempfile::tempdir()?, tempfile::tempdir()?];
    let mut booked: Vec<BookedCustomer> = Vec::new();
    for (n, dir) in dirs.iter().enumerate() {
        booked.push(platform.booked_customer(&format!("customer{n}@example.com"), dir.path()).await?);
    }
    let iberia = {
        let mut count = 0;
        for customer in &booked {
            count += usize::from(company(customer).await? == "iberia-carriers");
        }
        count >= 3
    };
    let (carrier, driver_email) =
        if iberia { ("iberia-carriers", DRIVER) } else { ("meseta-logistics", "carmen@meseta-logistics.example") };
    let mut customers: Vec<BookedCustomer> = Vec::new();
    for customer in booked {
        if customers.len() < 3 && company(&customer).await? == carrier {
            customers.push(customer);
        }
    }
    for (customer, address) in customers.iter().zip(ADDRESSES) {
        customer.core.confirm_delivery_address(customer.order, Some(address.to_owned())).await?;
    }
    let cab = tempfile::tempdir()?;
    let driver = platform.driver(driver_email, cab.path()).await?;
    let jobs = driver.refresh_deliveries().await?;
    let job = |order: Uuid| jobs.iter().find(|j| j.order_id == order).cloned().expect("the company carries every car");

    // Departure: every car on the truck gets its expected arrival, in the order of the stops.
    for customer in &customers {
        let job = job(customer.order);
        driver.embark(job.delivery_id, &job.vin).await?;
    }
    let mut etas = Vec::new();
    for customer in &mut customers {
        let shown = customer
            .watcher
            .until("an expected arrival", |o| o.delivery.as_ref().is_some_and(|d| d.eta.is_some()))
            .await?;
        etas.push(shown.delivery.and_then(|d| d.eta).expect("eta"));
    }
    etas.sort_by_key(|eta| eta.stops_before);
    assert_eq!(etas.iter().map(|e| e.stops_before).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(etas.iter().all(|e| e.reason == EtaReason::Departure && e.expected_at > chrono::Utc::now()));
    assert!(etas[1].expected_at >= etas[0].expected_at + STOP && etas[2].expected_at >= etas[1].expected_at + STOP);

    // Ten minutes of traffic: on every delivery's record, but nobody is pushed for it.
    let sent = driver.report_delay(10, EtaReason::Traffic).await?;
    assert_eq!(sent, EstimatesSent { sent: 3, waiting: 0 });
    let first = &customers[0];
    first.core.sync_order(first.order).await?;
    let eta = first.core.order(first.order).await?.delivery.and_then(|d| d.eta).expect("eta");
    assert_eq!(eta.reason, EtaReason::Traffic, "the record holds the latest estimate");
    assert_eq!(told(&platform, first.order).await?.len(), 1, "within the margin: not told");

    // Twenty more minutes for the weather: thirty from what the customers were told.
    driver.report_delay(20, EtaReason::Weather).await?;
    for customer in &mut customers {
        let shown = customer.watcher.until("the weather delay", |o| o.arrival_estimates.len() == 2).await?;
        assert_eq!(shown.arrival_estimates[1].estimate.reason, EtaReason::Weather);
    }

    // The first stop is done: the last customer hears the driver is one stop away.
    let stops: Vec<Uuid> = {
        let mut by_stop: Vec<_> = customers.iter().map(|c| (job(c.order), c.order)).collect();
        by_stop.sort_by_key(|(j, _)| (j.window.start, j.delivery_id));
        by_stop.into_iter().map(|(_, order)| order).collect()
    };
    let next = customers.iter_mut().find(|c| c.order == stops[0]).expect("first stop");
    let next_job = job(next.order);
    driver.arrive(next_job.delivery_id).await?;
    let code = next.core.handover_code(next.order).await?;
    driver.confirm_handover(next_job.delivery_id, &code.token).await?;
    let last = customers.iter_mut().find(|c| c.order == stops[2]).expect("last stop");
    // Pushed over the phone's stream: the watcher sees it without asking.
    let shown = last.watcher.until("one stop away", |o| o.arrival_estimates.len() == 3).await?;
    let estimate = shown.arrival_estimates[2].estimate;
    assert_eq!((estimate.stops_before, estimate.reason), (1, EtaReason::StopCompleted));

    // Without signal, the driver's delay waits on the phone and shows there.
    let offline = open_phone(NO_SIGNAL, cab.path()).await?;
    assert_eq!(offline.report_delay(30, EtaReason::LongerStop).await?, EstimatesSent { sent: 0, waiting: 2 });
    let list = offline.deliveries().await?;
    assert!(
        list.iter()
            .filter(|d| d.state == OrderState::InTransit)
            .all(|d| d.eta.is_some_and(|e| e.reason == EtaReason::LongerStop))
    );
    drop(offline);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_estimate_the_platform_can_check_is_checked() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let customer = platform.booked_customer("ana@example.com", dir.path()).await?;
    customer.core.confirm_delivery_address(customer.order, None).await?;
    let token = platform.driver_token(DRIVER).await?;
    let cab = tempfile::tempdir()?;
    let driver = platform.driver(DRIVER, cab.path()).await?;
    let job = driver.refresh_deliveries().await?.remove(0);
    let post = |estimate: serde_json::Value| {
        let (url, token) = (platform.url().to_owned(), token.clone());
        async move {
            let response = reqwest::Client::new()
                .post(format!("{url}/v1/driver/deliveries/{}/actions", job.delivery_id))
                .bearer_auth(token)
                .header("idempotency-key", Uuid::new_v4().to_string())
                .json(
                    &serde_json::json!({ "at": chrono::Utc::now(), "action": "update_arrival", "estimate": estimate }),
                )
                .send()
                .await?;
            anyhow::Ok(response.status().as_u16())
        }
    };
    let estimate = |minutes: i64, reason: &str| {
        serde_json::json!({ "expected_at": chrono::Utc::now() + chrono::TimeDelta::minutes(minutes),
                            "stops_before": 0, "reason": reason, "at": chrono::Utc::now() })
    };
    assert_eq!(post(estimate(30, "traffic")).await?, 409, "the car is not on its way yet");
    driver.embark(job.delivery_id, &job.vin).await?;
    assert_eq!(post(estimate(-60, "traffic")).await?, 422, "an arrival in the past");
    assert_eq!(post(estimate(60 * 25, "traffic")).await?, 422, "beyond a day");
    assert_eq!(post(estimate(30, "teleport")).await?, 422, "a reason the platform does not know");
    assert_eq!(post(estimate(30, "traffic")).await?, 200);
    // A driver flipping the estimate back and forth cannot flood the customer.
    for n in 0..8 {
        assert_eq!(post(estimate(if n % 2 == 0 { 90 } else { 30 }, "traffic")).await?, 200);
    }
    let told = told(&platform, customer.order).await?;
    assert_eq!(told.len(), 2, "the departure and the first revision, then nothing until ten minutes pass: {told:?}");
    let refused = driver.report_delay(0, EtaReason::Traffic).await;
    assert!(matches!(refused, Err(CaasError::Rejected { code: ErrorCode::InvalidRequest, .. })), "{refused:?}");
    let refused = driver.report_delay(10, EtaReason::Departure).await;
    assert!(matches!(refused, Err(CaasError::Rejected { code: ErrorCode::InvalidRequest, .. })), "{refused:?}");
    Ok(())
}
