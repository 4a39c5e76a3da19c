//! caas-ffi: the UniFFI surface of caas-core for the Kotlin and Swift shells.
//!
//! The full surface (the `Caas` object, snapshots, listeners and foreign traits) is built in the
//! bindings work; this crate already builds as the cdylib/staticlib the shells will link, so the
//! release profile and the binding generator are exercised from the start.

uniffi::setup_scaffolding!();

/// The version of the core inside this library, so a shell can log what it runs.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
