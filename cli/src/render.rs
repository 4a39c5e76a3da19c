//! How orders look in the terminal, and as JSON for scripts.

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
            "  v{:<3} {}  {:<24} by {:?}\n",
            entry.version,
            entry.at.format("%Y-%m-%d %H:%M:%S"),
            entry.state.wire_name(),
            entry.by
        ));
    }
    if !order.estimate_revisions.is_empty() {
        out.push_str("Factory estimates (estimates until the car is complete):\n");
        for revision in &order.estimate_revisions {
            out.push_str(&format!("  v{:<3} {}  {}\n", revision.version, revision.date, revision.reason));
        }
    }
    if let Some(blocker) = &order.summary.blocker {
        out.push_str(&format!("Waiting: {}\n", blocker.reason));
    }
    out
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
    })
}

pub fn detail_json(order: &OrderDetail) -> Value {
    let mut value = summary_json(&order.summary);
    value["vin"] = json!(order.vin);
    value["timeline"] = json!(order.timeline.iter().map(|t| t.state).collect::<Vec<_>>());
    value["estimate_revisions"] = json!(
        order
            .estimate_revisions
            .iter()
            .map(|r| json!({ "version": r.version, "date": r.date, "reason": r.reason }))
            .collect::<Vec<_>>()
    );
    value
}
