package eu.caas.companion.android

import android.annotation.SuppressLint
import android.bluetooth.BluetoothDevice
import android.bluetooth.BluetoothGatt
import android.bluetooth.BluetoothGattCallback
import android.bluetooth.BluetoothGattCharacteristic
import android.bluetooth.BluetoothGattDescriptor
import android.bluetooth.BluetoothManager
import android.bluetooth.BluetoothProfile
import android.bluetooth.BluetoothStatusCodes
import android.bluetooth.le.ScanCallback
import android.bluetooth.le.ScanFilter
import android.bluetooth.le.ScanResult
import android.bluetooth.le.ScanSettings
import android.content.Context
import android.os.Build
import android.os.ParcelUuid
import eu.caas.companion.core.BleAdvertisement
import eu.caas.companion.core.BleException
import eu.caas.companion.core.BleTransport
import eu.caas.companion.core.pairingIndicateCharacteristicUuid
import eu.caas.companion.core.pairingServiceUuid
import eu.caas.companion.core.pairingWriteCharacteristicUuid
import java.util.UUID
import java.util.concurrent.ConcurrentHashMap
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.getOrElse
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull

/**
 * The core's BLE transport over Android's `BluetoothGatt`: a low-latency scan filtered on the
 * pairing service, then per car one GATT connection with the largest MTU the car grants, writes
 * with response, and indications on a channel. Android allows one GATT operation at a time per
 * connection, so each connection runs its operations one after the other.
 *
 * The app asks for `BLUETOOTH_SCAN` and `BLUETOOTH_CONNECT` (Android 12+) before pairing; without
 * them every call fails with [BleException.Unavailable].
 */
@SuppressLint("MissingPermission")
class GattBleTransport(private val context: Context) : BleTransport {
    private val manager = context.getSystemService(BluetoothManager::class.java)
    private val service = UUID.fromString(pairingServiceUuid())
    private val seen = ConcurrentHashMap<String, BluetoothDevice>()
    private val links = ConcurrentHashMap<String, GattLink>()

    override suspend fun scan(timeoutMs: UInt): List<BleAdvertisement> {
        val adapter = manager?.adapter?.takeIf { it.isEnabled } ?: throw BleException.Unavailable("Bluetooth is off")
        val scanner = adapter.bluetoothLeScanner ?: throw BleException.Unavailable("this phone cannot scan for BLE")
        val found = ConcurrentHashMap<String, BleAdvertisement>()
        val failure = CompletableDeferred<Int>()
        val callback = object : ScanCallback() {
            override fun onScanResult(callbackType: Int, result: ScanResult) {
                val data = result.scanRecord?.getServiceData(ParcelUuid(service)) ?: return
                val id = result.device.address
                seen[id] = result.device
                found[id] = BleAdvertisement(id, data, result.rssi.toShort())
            }

            override fun onScanFailed(errorCode: Int) {
                failure.complete(errorCode)
            }
        }
        val filters = listOf(ScanFilter.Builder().setServiceUuid(ParcelUuid(service)).build())
        val settings = ScanSettings.Builder().setScanMode(ScanSettings.SCAN_MODE_LOW_LATENCY).build()
        try {
            scanner.startScan(filters, settings, callback)
            withTimeoutOrNull(timeoutMs.toLong()) { failure.await() }?.let {
                throw BleException.Unavailable("the scan failed (code $it)")
            }
        } catch (e: SecurityException) {
            throw BleException.Unavailable("the Bluetooth permission is missing")
        } finally {
            runCatching { scanner.stopScan(callback) }
        }
        return found.values.toList()
    }

    override suspend fun connect(peripheralId: String): UShort {
        val device = seen[peripheralId] ?: throw BleException.ConnectFailed("the car was not seen by the last scan")
        links.remove(peripheralId)?.close()
        val link = GattLink(device)
        links[peripheralId] = link
        return try {
            link.open(context).toUShort()
        } catch (e: Exception) {
            links.remove(peripheralId)
            link.close()
            throw when (e) {
                is BleException -> e
                is SecurityException -> BleException.Unavailable("the Bluetooth permission is missing")
                is TimeoutCancellationException -> BleException.ConnectFailed("the car did not answer")
                // The caller gave up (the screen closed): that stays a cancellation.
                is CancellationException -> e
                else -> BleException.ConnectFailed(e.message ?: "connection failed")
            }
        }
    }

    override suspend fun write(peripheralId: String, chunk: ByteArray) = link(peripheralId).write(chunk)

    override suspend fun nextIndication(peripheralId: String, timeoutMs: UInt): ByteArray? =
        link(peripheralId).nextIndication(timeoutMs.toLong())

    override suspend fun disconnect(peripheralId: String) {
        links.remove(peripheralId)?.close()
    }

    private fun link(peripheralId: String) =
        links[peripheralId] ?: throw BleException.ConnectionLost("not connected to $peripheralId")

    /** One GATT connection to one car. */
    private class GattLink(private val device: BluetoothDevice) : BluetoothGattCallback() {
        private val serviceId = UUID.fromString(pairingServiceUuid())
        private val writeId = UUID.fromString(pairingWriteCharacteristicUuid())
        private val indicateId = UUID.fromString(pairingIndicateCharacteristicUuid())
        private val operations = Mutex()
        private val connected = CompletableDeferred<Unit>()
        private val indications = Channel<ByteArray>(Channel.UNLIMITED)

        /** The GATT operation in flight: its status and, for an MTU exchange, the MTU. */
        @Volatile private var pending: CompletableDeferred<Pair<Int, Int>>? = null
        private var gatt: BluetoothGatt? = null
        private var writeCharacteristic: BluetoothGattCharacteristic? = null

        suspend fun open(context: Context): Int {
            gatt = device.connectGatt(context, false, this, BluetoothDevice.TRANSPORT_LE)
            withTimeout(CONNECT_TIMEOUT_MS) { connected.await() }
            val gatt = gatt ?: throw BleException.ConnectFailed("no GATT client")
            val (_, mtu) = operation("MTU exchange") { gatt.requestMtu(MAX_MTU) }
            operation("service discovery") { gatt.discoverServices() }
            val service = gatt.getService(serviceId) ?: throw BleException.ServiceMissing("the pairing service")
            writeCharacteristic = service.getCharacteristic(writeId)
                ?: throw BleException.ServiceMissing("the write characteristic")
            val indicate = service.getCharacteristic(indicateId)
                ?: throw BleException.ServiceMissing("the indicate characteristic")
            if (!gatt.setCharacteristicNotification(indicate, true)) {
                throw BleException.ConnectFailed("could not subscribe to indications")
            }
            val configuration = indicate.getDescriptor(CLIENT_CONFIGURATION)
                ?: throw BleException.ServiceMissing("the indications' configuration descriptor")
            val enable = BluetoothGattDescriptor.ENABLE_INDICATION_VALUE
            operation("subscription") {
                if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
                    gatt.writeDescriptor(configuration, enable) == BluetoothStatusCodes.SUCCESS
                } else {
                    @Suppress("DEPRECATION")
                    configuration.setValue(enable) && gatt.writeDescriptor(configuration)
                }
            }
            return mtu
        }

        suspend fun write(chunk: ByteArray) {
            val gatt = gatt ?: throw BleException.ConnectionLost("not connected")
            val characteristic = writeCharacteristic ?: throw BleException.ConnectionLost("not connected")
            operation("write") {
                if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
                    gatt.writeCharacteristic(characteristic, chunk, BluetoothGattCharacteristic.WRITE_TYPE_DEFAULT) ==
                        BluetoothStatusCodes.SUCCESS
                } else {
                    @Suppress("DEPRECATION")
                    characteristic.run {
                        writeType = BluetoothGattCharacteristic.WRITE_TYPE_DEFAULT
                        setValue(chunk) && gatt.writeCharacteristic(this)
                    }
                }
            }
        }

        suspend fun nextIndication(timeoutMs: Long): ByteArray? = withTimeoutOrNull(timeoutMs) {
            indications.receiveCatching().getOrElse { throw BleException.ConnectionLost(it?.message ?: "the car went away") }
        }

        fun close() {
            indications.close()
            gatt?.run {
                disconnect()
                close()
            }
            gatt = null
        }

        /** Starts one GATT operation and waits for its callback; Android runs one at a time. */
        private suspend fun operation(what: String, start: () -> Boolean): Pair<Int, Int> = operations.withLock {
            val done = CompletableDeferred<Pair<Int, Int>>()
            pending = done
            if (!start()) throw BleException.ConnectionLost("the phone refused the $what")
            val result = try {
                withTimeout(OPERATION_TIMEOUT_MS) { done.await() }
            } catch (e: TimeoutCancellationException) {
                throw BleException.ConnectionLost("the $what timed out")
            } finally {
                pending = null
            }
            if (result.first != BluetoothGatt.GATT_SUCCESS) throw BleException.ConnectionLost("the $what failed (${result.first})")
            result
        }

        override fun onConnectionStateChange(gatt: BluetoothGatt, status: Int, newState: Int) {
            when {
                newState == BluetoothProfile.STATE_CONNECTED && status == BluetoothGatt.GATT_SUCCESS -> connected.complete(Unit)
                newState == BluetoothProfile.STATE_DISCONNECTED -> {
                    val lost = BleException.ConnectionLost("the car disconnected (status $status)")
                    connected.completeExceptionally(BleException.ConnectFailed("the car refused the connection ($status)"))
                    pending?.completeExceptionally(lost)
                    indications.close(lost)
                }
            }
        }

        override fun onMtuChanged(gatt: BluetoothGatt, mtu: Int, status: Int) {
            pending?.complete(status to mtu)
        }

        override fun onServicesDiscovered(gatt: BluetoothGatt, status: Int) {
            pending?.complete(status to 0)
        }

        override fun onDescriptorWrite(gatt: BluetoothGatt, descriptor: BluetoothGattDescriptor, status: Int) {
            pending?.complete(status to 0)
        }

        override fun onCharacteristicWrite(gatt: BluetoothGatt, characteristic: BluetoothGattCharacteristic, status: Int) {
            pending?.complete(status to 0)
        }

        override fun onCharacteristicChanged(gatt: BluetoothGatt, characteristic: BluetoothGattCharacteristic, value: ByteArray) {
            if (characteristic.uuid == indicateId) indications.trySend(value)
        }

        @Deprecated("Android 12 and older deliver indications here")
        @Suppress("DEPRECATION")
        override fun onCharacteristicChanged(gatt: BluetoothGatt, characteristic: BluetoothGattCharacteristic) {
            if (Build.VERSION.SDK_INT < Build.VERSION_CODES.TIRAMISU && characteristic.uuid == indicateId) {
                indications.trySend(characteristic.value.copyOf())
            }
        }

        companion object {
            private const val MAX_MTU = 517
            private const val CONNECT_TIMEOUT_MS = 10_000L
            private const val OPERATION_TIMEOUT_MS = 5_000L
            private val CLIENT_CONFIGURATION: UUID = UUID.fromString("00002902-0000-1000-8000-00805f9b34fb")
        }
    }
}
