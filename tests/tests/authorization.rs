//! Every route of the platform, taken from its own OpenAPI document, called on one customer's
//! resources with the token of every other role and of another owner of the same role (another
//! customer, another dealership, a driver of another company): each is refused with 401, 403 or
//! 404, or (for a list) shows nothing of the owner's, and nothing changes.

use std::collections::BTreeMap;

use caas_core::protocol::push::PushPlatform;
use caas_e2e::Platform;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// Routes anyone may call, with credentials of their own in the body or headers, or for what is
/// public by design (the key records are checked with).
fn public(path: &str) -> bool {
    path.starts_with("/v1/auth/") || path.starts_with("/v1/webhooks/") || path == "/v1/record/key"
}

/// The role a route belongs to.
fn role_of(path: &str) -> &'static str {
    if path.starts_with("/v1/sandbox/") {
        "sandbox"
    } else if path.starts_with("/v1/dealership/") {
        "dealership"
    } else if path.starts_with("/v1/driver/") {
        "driver"
    } else {
        "customer"
    }
}

/// A value that fits `schema`: each required field with the first value its type allows, so the
/// body passes the shape check and the call reaches the owner's check.
fn example(schema: &Value, document: &Value) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return example(&document["components"]["schemas"][name], document);
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = serde_json::Map::new();
        for part in parts {
            if let Value::Object(fields) = example(part, document) {
                merged.extend(fields);
            }
        }
        return Value::Object(merged);
    }
    for choice in ["oneOf", "anyOf"] {
        if let Some(first) = schema[choice].as_array().and_then(|options| options.first()) {
            return example(first, document);
        }
    }
    if let Some(first) = schema["enum"].as_array().and_then(|values| values.first()) {
        return first.clone();
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds.iter().find(|k| *k != "null").and_then(Value::as_str).unwrap_or("null"),
        kind => kind.as_str().unwrap_or("object"),
    };
    match (kind, schema["format"].as_str()) {
        ("string", Some("uuid")) => json!(Uuid::nil()),
        ("string", Some("date-time")) => json!(chrono::Utc::now()),
        ("string", Some("date")) => json!("2030-01-01"),
        ("string", _) => json!("x"),
        ("integer" | "number", _) => json!(1),
        ("boolean", _) => json!(false),
        ("array", _) => json!([]),
        ("null", _) => Value::Null,
        _ => {
            let mut object = serde_json::Map::new();
            for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                object.insert(name.to_owned(), example(&schema["properties"][name], document));
            }
            Value::Object(object)
        }
    }
}

/// Everything observable of the platform's state: every order and the owner's log.
async fn state(platform: &Platform, order: Uuid) -> anyhow::Result<String> {
    let orders = platform.sandbox.orders().await?;
    let events = platform.sandbox.order_events(order).await?;
    Ok(format!("{orders:?}{events:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_serves_another_role_or_another_owner() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let owner_email = "owner@example.com";
    let owner = platform.delivered_customer(owner_email, &dir.path().join("owner")).await?;
    owner.core.prepare_pairing(owner.order).await?;
    owner.core.sync_order(owner.order).await?;
    let device = owner.core.register_push_device(PushPlatform::Fcm, "owner-device").await?;
    let detail = owner.core.order(owner.order).await?;
    let delivery = detail.delivery.as_ref().map(|d| d.delivery_id).expect("a delivery");
    let grant = detail.phone_keys.first().map(|k| k.grant_id).expect("a phone key");
    let vin = detail.vin.clone().expect("a car");
    let ids: BTreeMap<&str, String> = [
        ("id", owner.order.to_string()),
        ("grant_id", grant.to_string()),
        ("vin", vin.clone()),
        ("email", owner_email.to_owned()),
        ("payment", "pi_0000000000000000".to_owned()),
        ("country", "ES".to_owned()),
    ]
    .into();

    // The owner's tokens, and every intruder's.
    platform.sell_to("stranger@example.com").await?;
    let mut tokens: BTreeMap<&str, String> = BTreeMap::new();
    tokens.insert("customer", platform.customer_token(owner_email).await?);
    tokens.insert("another customer", platform.customer_token("stranger@example.com").await?);
    tokens.insert("dealership", platform.sandbox.staff_token("madrid-centro").await?);
    tokens.insert("another dealership", platform.sandbox.staff_token("valencia-puerto").await?);
    tokens.insert("driver", platform.driver_token(caas_e2e::DRIVER).await?);
    tokens.insert("another company's driver", platform.driver_token("carmen@meseta-logistics.example").await?);
    tokens.insert("sandbox", platform.mock.sandbox_token.clone());

    let document: Value = reqwest::get(format!("{}/openapi.json", platform.url())).await?.json().await?;
    let before = state(&platform, owner.order).await?;
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build()?;
    let mut checked = 0;
    for (template, operations) in document["paths"].as_object().expect("paths") {
        if public(template) {
            continue;
        }
        let owner_role = role_of(template);
        let mut path = template.clone();
        for (name, value) in &ids {
            let value =
                if *name == "id" && template.starts_with("/v1/driver/") { delivery.to_string() } else { value.clone() };
            let value = if *name == "id" && template.starts_with("/v1/devices/") { device.to_string() } else { value };
            path = path.replace(&format!("{{{name}}}"), &value);
        }
        assert!(!path.contains('{'), "a path parameter without a value: {template}");
        for (method, operation) in operations.as_object().expect("operations") {
            let method: Method = method.to_uppercase().parse()?;
            let body = example(&operation["requestBody"]["content"]["application/json"]["schema"], &document);
            for (who, token) in &tokens {
                if *who == owner_role {
                    continue;
                }
                let mut request = http.request(method.clone(), format!("{}{path}", platform.url())).bearer_auth(token);
                if method != Method::GET {
                    request = request.header("idempotency-key", Uuid::new_v4().to_string()).json(&body);
                }
                let response = request.send().await?;
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                let another_owner = who.starts_with("another") && who.ends_with(owner_role)
                    || (*who == "another company's driver" && owner_role == "driver");
                if another_owner && !template.contains('{') {
                    // A list or a creation of the intruder's own: it shows nothing of the owner's.
                    assert!(
                        !body.contains(&owner.order.to_string()) && !body.contains(&vin),
                        "{who} sees the owner's: {template}"
                    );
                } else {
                    assert!(matches!(status, 401 | 403 | 404), "{method} {template} as {who}: {status} {body}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "only {checked} calls were made");
    assert_eq!(state(&platform, owner.order).await?, before, "a refused call changed something");
    Ok(())
}
