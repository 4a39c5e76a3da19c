//! The device's identity key: a P-256 key pair made on the device, whose private half never
//! leaves it. The shells keep it in Android Keystore or the Secure Enclave (both do P-256
//! ECDSA); the CLI and tests use [`SoftwareDeviceKey`], kept in the secret store.

use async_trait::async_trait;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};

use crate::error::{CaasError, Result};
use crate::secrets::SecretStore;

/// The secret-store entry of the software key (PKCS#8, base64url).
pub(crate) const SOFTWARE_KEY_SECRET: &str = "device_key.pkcs8";

/// Signs for the device.
#[async_trait]
pub trait DeviceKey: Send + Sync + std::fmt::Debug {
    /// The public key: an uncompressed P-256 point (65 bytes).
    fn public_key(&self) -> Result<Vec<u8>>;
    /// ECDSA P-256 with SHA-256 over `message`, ASN.1 DER (what Keystore and the Secure Enclave
    /// produce). May take its time: a hardware key can ask for the user's presence.
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

/// A device key in software, kept as PKCS#8 in the secret store.
pub struct SoftwareDeviceKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for SoftwareDeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoftwareDeviceKey(..)")
    }
}

impl SoftwareDeviceKey {
    /// The key kept in `secrets`, made and kept there on first use.
    pub fn load_or_create(secrets: &dyn SecretStore) -> Result<Self> {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let rng = SystemRandom::new();
        let pkcs8 = match secrets.get(SOFTWARE_KEY_SECRET)? {
            Some(stored) => {
                engine.decode(stored.trim()).map_err(|_| CaasError::Secrets("the device key is unreadable".into()))?
            }
            None => {
                let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                    .map_err(|_| CaasError::Secrets("could not make a device key".into()))?;
                secrets.set(SOFTWARE_KEY_SECRET, &engine.encode(document.as_ref()))?;
                tracing::info!("made a new device key");
                document.as_ref().to_vec()
            }
        };
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &rng)
            .map_err(|_| CaasError::Secrets("the stored device key is invalid".into()))?;
        Ok(Self { pair, rng })
    }
}

#[async_trait]
impl DeviceKey for SoftwareDeviceKey {
    fn public_key(&self) -> Result<Vec<u8>> {
        Ok(self.pair.public_key().as_ref().to_vec())
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let signature = self
            .pair
            .sign(&self.rng, message)
            .map_err(|_| CaasError::Secrets("the device key could not sign".into()))?;
        Ok(signature.as_ref().to_vec())
    }
}
