package eu.caas.companion

import eu.caas.companion.core.DeviceKey
import eu.caas.companion.core.DeviceKeyException
import java.math.BigInteger
import java.security.GeneralSecurityException
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * The device key over the Java Cryptography Architecture: a P-256 [KeyPair] whose private half
 * signs with `SHA256withECDSA` (DER, as the core expects). On Android the pair comes from the
 * `AndroidKeyStore` provider, so the private key never leaves secure hardware and this class
 * only ever holds a handle to it; on the JVM (tests) any P-256 pair does.
 */
class JcaDeviceKey(private val keyPair: KeyPair) : DeviceKey {
    init {
        require(keyPair.public is ECPublicKey) { "the device key must be an EC (P-256) key" }
    }

    /** The public key as an uncompressed point: 0x04, then X and Y as 32 bytes each. */
    override fun publicKey(): ByteArray {
        val point = (keyPair.public as ECPublicKey).w
        return byteArrayOf(4) + point.affineX.fixed32() + point.affineY.fixed32()
    }

    /** Signing may wait for the user (a key that requires authentication), so not on the caller's thread. */
    override suspend fun sign(message: ByteArray): ByteArray = withContext(Dispatchers.IO) {
        try {
            Signature.getInstance("SHA256withECDSA").run {
                initSign(keyPair.private)
                update(message)
                sign()
            }
        } catch (e: GeneralSecurityException) {
            throw DeviceKeyException.Failed("the device key could not sign: ${e.message}")
        }
    }

    override fun toString(): String = "JcaDeviceKey(P-256)"

    companion object {
        /** A new P-256 pair in software; the app makes its pair in `AndroidKeyStore` instead. */
        fun generate(): JcaDeviceKey =
            JcaDeviceKey(KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair())

        private fun BigInteger.fixed32(): ByteArray {
            val bytes = toByteArray().dropWhile { it == 0.toByte() }.toByteArray()
            require(bytes.size <= 32) { "not a P-256 coordinate" }
            return ByteArray(32 - bytes.size) + bytes
        }
    }
}
