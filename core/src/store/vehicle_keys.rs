//! The phone keys this device holds: per order, the grant the platform issued, the car's public
//! key and VIN, and the car's link receipt until the platform has it. None of it is secret (the
//! grant is useless without the device key); the car's advertising key is, and lives in the
//! secret store.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::{CaasError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGrant {
    pub order_id: Uuid,
    pub grant_id: Uuid,
    /// The grant as the platform signed it.
    pub grant: Vec<u8>,
    pub vin: String,
    pub vehicle_public_key: [u8; 32],
    pub not_after: DateTime<Utc>,
    /// The platform's clock minus this phone's when the grant came: the car keeps platform time.
    pub clock_offset_seconds: i64,
    /// The car's signed receipt for the link, kept until the platform confirmed it.
    pub link_receipt: Option<Vec<u8>>,
}

/// What the car signed for the platform, kept until the platform has it: reads near the car
/// happen without signal (an underground car park) and are reported on the next sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CarStatement {
    /// The car switched on the option of this entitlement.
    OptionReceipt { entitlement: Uuid, receipt: Vec<u8> },
    /// The car's odometer and warnings; only the latest per order is kept.
    Telemetry { report: Vec<u8> },
}

impl CarStatement {
    fn key(&self, order: Uuid) -> String {
        match self {
            CarStatement::OptionReceipt { entitlement, .. } => format!("option:{entitlement}"),
            CarStatement::Telemetry { .. } => format!("telemetry:{order}"),
        }
    }
}

/// Keeps a statement of the car's; a newer report replaces the one kept, a receipt kept stays.
pub fn keep_statement(conn: &Connection, order: Uuid, statement: &CarStatement) -> Result<()> {
    let (kind, replace) = match statement {
        CarStatement::OptionReceipt { .. } => ("option_receipt", false),
        CarStatement::Telemetry { .. } => ("telemetry", true),
    };
    let body = statement.body();
    let sql = if replace {
        "INSERT INTO car_statements (key, order_id, kind, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(key) DO UPDATE SET body = excluded.body, created_at = excluded.created_at"
    } else {
        "INSERT INTO car_statements (key, order_id, kind, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(key) DO NOTHING"
    };
    conn.prepare_cached(sql)?.execute(params![
        statement.key(order),
        order.to_string(),
        kind,
        body,
        Utc::now().to_rfc3339()
    ])?;
    Ok(())
}

/// The statements the platform does not have yet, oldest first: their key, order and content.
pub fn pending_statements(conn: &Connection) -> Result<Vec<(String, Uuid, CarStatement)>> {
    let mut statement =
        conn.prepare_cached("SELECT key, order_id, kind, body FROM car_statements ORDER BY created_at, key")?;
    let rows = statement.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Vec<u8>>(3)?))
    })?;
    let unreadable = || CaasError::corrupt("a kept statement of the car is unreadable");
    rows.map(|row| {
        let (key, order, kind, body) = row?;
        let content = match (kind.as_str(), key.strip_prefix("option:")) {
            ("option_receipt", Some(entitlement)) => CarStatement::OptionReceipt {
                entitlement: entitlement.parse().map_err(|_| unreadable())?,
                receipt: body,
            },
            ("telemetry", _) => CarStatement::Telemetry { report: body },
            _ => return Err(unreadable()),
        };
        Ok((key, order.parse().map_err(|_| unreadable())?, content))
    })
    .collect()
}

/// Forgets a statement the platform took or will never take, if it is still the one sent: a newer
/// report kept meanwhile under the same key stays.
pub fn forget_statement(conn: &Connection, key: &str, body: &[u8]) -> Result<()> {
    conn.prepare_cached("DELETE FROM car_statements WHERE key = ?1 AND body = ?2")?.execute(params![key, body])?;
    Ok(())
}

impl CarStatement {
    /// What was signed and is sent.
    pub fn body(&self) -> &[u8] {
        match self {
            CarStatement::OptionReceipt { receipt, .. } => receipt,
            CarStatement::Telemetry { report } => report,
        }
    }
}

/// Keeps the order's grant; a receipt waiting to be reported stays.
pub fn save_grant(conn: &Connection, grant: &StoredGrant) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO vehicle_keys (order_id, grant_id, grant, vin, vehicle_public_key, not_after, clock_offset_seconds)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(order_id) DO UPDATE SET grant_id = excluded.grant_id, grant = excluded.grant, vin = excluded.vin,
             vehicle_public_key = excluded.vehicle_public_key, not_after = excluded.not_after,
             clock_offset_seconds = excluded.clock_offset_seconds",
    )?
    .execute(params![
        grant.order_id.to_string(),
        grant.grant_id.to_string(),
        grant.grant,
        grant.vin,
        &grant.vehicle_public_key[..],
        grant.not_after.to_rfc3339(),
        grant.clock_offset_seconds
    ])?;
    Ok(())
}

pub fn load_grant(conn: &Connection, order: Uuid) -> Result<Option<StoredGrant>> {
    let row = conn
        .prepare_cached(
            "SELECT grant_id, grant, vin, vehicle_public_key, not_after, clock_offset_seconds, link_receipt
             FROM vehicle_keys WHERE order_id = ?1",
        )?
        .query_row([order.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<Vec<u8>>>(6)?,
            ))
        })
        .optional()?;
    let Some((grant_id, grant, vin, vehicle_public_key, not_after, clock_offset_seconds, link_receipt)) = row else {
        return Ok(None);
    };
    let unreadable = || CaasError::corrupt("a stored phone key is unreadable");
    Ok(Some(StoredGrant {
        order_id: order,
        grant_id: grant_id.parse().map_err(|_| unreadable())?,
        grant,
        vin,
        vehicle_public_key: vehicle_public_key.try_into().map_err(|_| unreadable())?,
        not_after: DateTime::parse_from_rfc3339(&not_after).map_err(|_| unreadable())?.with_timezone(&Utc),
        clock_offset_seconds,
        link_receipt,
    }))
}

/// Keeps (or, once reported, clears) the car's link receipt.
pub fn set_link_receipt(conn: &Connection, order: Uuid, receipt: Option<&[u8]>) -> Result<()> {
    conn.prepare_cached("UPDATE vehicle_keys SET link_receipt = ?2 WHERE order_id = ?1")?
        .execute(params![order.to_string(), receipt])?;
    Ok(())
}

pub fn forget_grant(conn: &Connection, order: Uuid) -> Result<()> {
    conn.prepare_cached("DELETE FROM vehicle_keys WHERE order_id = ?1")?.execute([order.to_string()])?;
    Ok(())
}

/// Receipts the platform has not confirmed yet, by order.
pub fn pending_receipts(conn: &Connection) -> Result<Vec<(Uuid, Vec<u8>)>> {
    let mut statement =
        conn.prepare_cached("SELECT order_id, link_receipt FROM vehicle_keys WHERE link_receipt IS NOT NULL")?;
    let rows = statement.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
    let mut pending = Vec::new();
    for row in rows {
        let (order, receipt) = row?;
        if let Ok(order) = order.parse() {
            pending.push((order, receipt));
        }
    }
    Ok(pending)
}

/// The orders this device holds keys for.
pub fn orders_with_keys(conn: &Connection) -> Result<Vec<Uuid>> {
    let mut statement = conn.prepare_cached("SELECT order_id FROM vehicle_keys")?;
    let orders = statement.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(orders.iter().filter_map(|o| o.parse().ok()).collect())
}

/// The grants this device holds, with their orders.
pub fn own_grants(conn: &Connection) -> Result<Vec<(Uuid, Uuid)>> {
    let mut statement = conn.prepare_cached("SELECT order_id, grant_id FROM vehicle_keys")?;
    let rows = statement
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.iter().filter_map(|(order, grant)| Some((order.parse().ok()?, grant.parse().ok()?))).collect())
}
