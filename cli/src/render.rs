//! How orders look in the terminal, and as JSON for scripts.

use caas_core::protocol::arrival::ArrivalEstimate;
use caas_core::protocol::delivery::{DeliveryView, DeliveryWindow};
use caas_core::protocol::messages::{Language, eta_reason_label, incident_label};
use caas_core::protocol::options::{OptionPurchase, PurchaseStatus};
use caas_core::{OrderDetail, OrderSummary};
use serde_json::{Value, json};

pub fn summary_line(order: &OrderSummary) -> String {
    let completion = order.completion.as_ref().map_or_else(String::new, |c| {
        if c.confirmed {
            format!("  completed {}", c.date)
        } else {
            format!("  factory estimate {} (not a promise)", c.date)
        }
    });
    let blocker = order.blocker.as_ref().map_or_else(String::new, |b| format!("  ! {}", b.reason));
    format!(
        "{}  {:<24} {:<12} {}{completion}{blocker}",
        order.id,
        order.state.wire_name(),
        order.base_platform,
        order.dealership
    )
}

pub fn timeline_text(order: &OrderDetail) -> String {
    let mut out = format!(
        "Order {}  ({} at {})\n",
        order.summary.id, order.configuration.base_platform, order.summary.dealership
    );
    if let Some(vin) = &order.vin {
        out.push_str(&format!("VIN {vin}\n"));
    }
    out.push_str("Timeline:\n");
    for entry in &order.timeline {
        out.push_str(&format!(
            "  v{:<3} {}  {:<27} by {}\n",
            entry.version,
            entry.at.format("%Y-%m-%d %H:%M:%S"),
            entry.state.wire_name(),
            entry.by.wire_name()
        ));
    }
    for update in &order.unknown_updates {
        out.push_str(&format!(
            "  v{:<3} {}  an update this version cannot show; update caas to see it\n",
            update.version,
            update.at.format("%Y-%m-%d %H:%M:%S"),
        ));
    }
    if !order.estimate_revisions.is_empty() {
        out.push_str("Factory estimates (estimates until the car is complete):\n");
        for revision in &order.estimate_revisions {
            out.push_str(&format!("  v{:<3} {}  {}\n", revision.version, revision.date, revision.reason));
        }
    }
    if let Some(payment) = &order.final_payment {
        match payment.paid_at {
            Some(at) => {
                out.push_str(&format!("Final payment of {} made {}\n", payment.amount_due, at.format("%Y-%m-%d %H:%M")))
            }
            None if order.reservation_lost => {
                out.push_str(&format!(
                    "The final payment of {} was not made in time: the reservation is lost.\n",
                    payment.amount_due
                ));
            }
            None => out.push_str(&format!(
                "Final payment due: {} before {} ({} left){}\n",
                payment.amount_due,
                payment.deadline.format("%Y-%m-%d %H:%M UTC"),
                countdown(payment.seconds_left),
                if payment.attempt_in_flight { "; a payment is in progress: `caas pay ORDER --resume`" } else { "" }
            )),
        }
    }
    if let Some(registration) = &order.registration {
        out.push_str(&format!("Registered by {}: plate {}\n", registration.authority, registration.plate));
    }
    if let Some(delivery) = &order.delivery {
        out.push_str(&delivery_text(delivery));
    }
    for refund in &order.refunds {
        out.push_str(&format!(
            "Refunded {} on {}: {} (charge {})\n",
            refund.amount,
            refund.at.format("%Y-%m-%d %H:%M"),
            refund.reason,
            refund.payment_id
        ));
    }
    for purchase in &order.options {
        out.push_str(&purchase_line(purchase));
    }
    if let Some(maintenance) = &order.maintenance {
        out.push_str(&crate::service::maintenance_text(maintenance));
    }
    for key in &order.phone_keys {
        let status = match (key.revoked, key.linked_at) {
            (true, _) => "revoked".to_owned(),
            (false, Some(at)) => format!("linked to the car {}", at.format("%Y-%m-%d %H:%M")),
            (false, None) => "not used yet".to_owned(),
        };
        out.push_str(&format!(
            "Phone key {} issued {}, valid until {}: {status}\n",
            key.grant_id,
            key.issued_at.format("%Y-%m-%d %H:%M"),
            key.not_after.format("%Y-%m-%d")
        ));
    }
    if let Some(blocker) = &order.summary.blocker {
        out.push_str(&format!("Waiting: {}\n", blocker.reason));
        if let Some(fix) = &blocker.fix {
            out.push_str(&format!("Next step: {fix}\n"));
        }
    }
    out
}

/// One line about an option bought for the car.
pub fn purchase_line(purchase: &OptionPurchase) -> String {
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
    };
    let status = match purchase.status {
        PurchaseStatus::Paid => format!(
            "waiting for the car until {} (near it: `caas options activate ORDER`)",
            purchase.activate_by.format("%Y-%m-%d %H:%M UTC")
        ),
        PurchaseStatus::Activated => format!("active since {}", at(purchase.activated_at)),
        PurchaseStatus::Refunded => format!("not confirmed by the car in time: refunded {}", at(purchase.refunded_at)),
        PurchaseStatus::Unknown => "updated (update caas to see how)".into(),
    };
    format!("Bought {} for {}: {status}\n", plain(&purchase.name), purchase.price)
}

/// The platform's text without the control and bidirectional characters that could rewrite the
/// terminal's screen.
pub fn plain(text: &str) -> String {
    text.chars().filter(|c| !caas_core::protocol::messages::is_hidden(*c)).collect()
}

fn delivery_text(delivery: &DeliveryView) -> String {
    let mut out = format!(
        "Delivery by {} (trip {}): {}{}\n",
        delivery.company.name,
        delivery.attempt,
        window(&delivery.window),
        if delivery.handover.is_some() { "" } else { ", to" }
    );
    if delivery.handover.is_none() {
        out.push_str(&format!(
            "  {} ({})\n",
            delivery.address.as_deref().unwrap_or("no address on file"),
            if delivery.address_confirmed { "confirmed" } else { "not confirmed yet: `caas delivery confirm-address`" }
        ));
    }
    if let Some(custody) = &delivery.embarkation {
        out.push_str(&format!("  Loaded {} by {}\n", custody.at.format("%Y-%m-%d %H:%M"), custody.party));
    }
    if let (Some(eta), None, None) = (&delivery.eta, &delivery.arrived_at, &delivery.handover) {
        out.push_str(&format!("  Expected at the door {}\n", eta_text(eta)));
    }
    if let Some(incident) = &delivery.incident {
        out.push_str(&format!(
            "  Stopped on the way {} by {}: {}{}\n",
            incident.at.format("%Y-%m-%d %H:%M"),
            incident.by,
            incident_label(incident.kind, Language::English),
            incident.note.as_deref().map(|note| format!(" ({note})")).unwrap_or_default(),
        ));
    }
    if let Some(custody) = &delivery.reception {
        out.push_str(&format!(
            "  Back at the dealership {} ({})\n",
            custody.at.format("%Y-%m-%d %H:%M"),
            custody.party
        ));
    }
    if let (Some(pickup), None) = (&delivery.pickup, &delivery.handover) {
        out.push_str(&format!(
            "  Collect it at {}, {} ({}); show your handover code: `caas delivery code ORDER`\n",
            pickup.dealership, pickup.address, pickup.opening_hours
        ));
    }
    if let Some(handover) = &delivery.handover {
        out.push_str(&format!("  Handed over {} by {}\n", handover.at.format("%Y-%m-%d %H:%M"), handover.by));
    }
    if let Some(dispute) = &delivery.dispute {
        out.push_str(&format!("  Disputed {}: {}\n", dispute.at.format("%Y-%m-%d %H:%M"), dispute.reason));
    }
    out
}

/// `10:40 UTC (2 stops before yours; traffic)`.
pub fn eta_text(eta: &ArrivalEstimate) -> String {
    format!(
        "{} UTC ({} stop(s) before; {})",
        eta.expected_at.format("%H:%M"),
        eta.stops_before,
        eta_reason_label(eta.reason, Language::English)
    )
}

/// `2026-03-04 09:00-11:00 UTC`.
pub fn window(window: &DeliveryWindow) -> String {
    format!("{}-{} UTC", window.start.format("%Y-%m-%d %H:%M"), window.end.format("%H:%M"))
}

/// A driver's step as the driver says it.
pub fn step(step: caas_core::DriverStep) -> &'static str {
    match step {
        caas_core::DriverStep::Embark => "loading the car",
        caas_core::DriverStep::Arrive => "arrival",
        caas_core::DriverStep::ReportAbsent => "customer absent",
        caas_core::DriverStep::ReportIncident => "incident on the way",
        caas_core::DriverStep::UpdateArrival => "expected arrival",
        caas_core::DriverStep::ConfirmHandover => "handover",
    }
}

/// `6d 23h`, `5h 12m`, `42m`: the time left, to the minute.
pub fn countdown(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3_600, seconds % 3_600 / 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

pub fn summary_json(order: &OrderSummary) -> Value {
    json!({
        "id": order.id,
        "status": order.state,
        "version": order.version,
        "base_platform": order.base_platform,
        "dealership": order.dealership,
        "estimated_completion": order.completion.as_ref().map(|c| c.date),
        "completion_confirmed": order.completion.as_ref().is_some_and(|c| c.confirmed),
        "blocker": order.blocker.as_ref().map(|b| &b.reason),
        "blocker_fix": order.blocker.as_ref().and_then(|b| b.fix.as_ref()),
    })
}

pub fn detail_json(order: &OrderDetail) -> Value {
    let mut value = summary_json(&order.summary);
    value["vin"] = json!(order.vin);
    value["timeline"] = json!(order.timeline.iter().map(|t| t.state).collect::<Vec<_>>());
    value["price"] = json!(order.price.as_ref().map(ToString::to_string));
    value["final_payment"] = json!(order.final_payment.as_ref().map(|p| json!({
        "amount_due": p.amount_due.to_string(),
        "deadline": p.deadline,
        "seconds_left": p.seconds_left,
        "paid_at": p.paid_at,
        "attempt_in_flight": p.attempt_in_flight,
    })));
    value["plate"] = json!(order.registration.as_ref().map(|r| &r.plate));
    value["reservation_lost"] = json!(order.reservation_lost);
    value["from_stock"] = json!(order.from_stock);
    value["delivery"] = json!(order.delivery);
    value["delivery_windows"] = json!(
        order
            .delivery_windows
            .iter()
            .map(|w| json!({ "attempt": w.attempt, "start": w.window.start, "end": w.window.end, "reason": w.reason }))
            .collect::<Vec<_>>()
    );
    value["arrival_estimates"] = json!(
        order
            .arrival_estimates
            .iter()
            .map(|r| json!({ "attempt": r.attempt, "expected_at": r.estimate.expected_at,
                             "stops_before": r.estimate.stops_before, "reason": r.estimate.reason }))
            .collect::<Vec<_>>()
    );
    value["app_link"] = json!(order.app_link);
    value["refunds"] = json!(
        order
            .refunds
            .iter()
            .map(|r| json!({ "payment_id": r.payment_id, "amount": r.amount, "reason": r.reason, "at": r.at }))
            .collect::<Vec<_>>()
    );
    value["phone_keys"] = json!(
        order
            .phone_keys
            .iter()
            .map(|k| json!({ "grant_id": k.grant_id, "issued_at": k.issued_at, "not_after": k.not_after,
                              "revoked": k.revoked, "linked_at": k.linked_at }))
            .collect::<Vec<_>>()
    );
    value["estimate_revisions"] = json!(
        order
            .estimate_revisions
            .iter()
            .map(|r| json!({ "version": r.version, "date": r.date, "reason": r.reason }))
            .collect::<Vec<_>>()
    );
    value["options"] = json!(
        order
            .options
            .iter()
            .map(|p| json!({ "option": p.option, "name": p.name, "price": p.price.to_string(), "status": p.status,
                              "activate_by": p.activate_by, "activated_at": p.activated_at,
                              "activated_via": p.activated_via, "refunded_at": p.refunded_at }))
            .collect::<Vec<_>>()
    );
    value["maintenance"] = json!(order.maintenance);
    value["unknown_updates"] =
        json!(order.unknown_updates.iter().map(|u| json!({ "version": u.version, "at": u.at })).collect::<Vec<_>>());
    value
}

#[cfg(test)]
mod tests {
    use super::countdown;

    #[test]
    fn countdowns_read_at_a_glance() {
        assert_eq!(countdown(7 * 86_400 - 60), "6d 23h");
        assert_eq!(countdown(5 * 3_600 + 12 * 60 + 5), "5h 12m");
        assert_eq!(countdown(42 * 60), "42m");
        assert_eq!(countdown(0), "0m");
    }
}
