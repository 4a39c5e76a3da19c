#if canImport(CoreBluetooth)
import CaasCore
import CoreBluetooth
import Foundation

/// The core's BLE transport over CoreBluetooth: a scan for the pairing service, then per car one
/// connection with the pairing service's characteristics discovered and indications subscribed.
/// Every CoreBluetooth callback arrives on one serial queue, where all the transport's state
/// lives; the async methods hop onto it.
///
/// CoreBluetooth never gives up on a connection by itself, so opening one (connect, discovery,
/// subscription) and each write have a deadline, and every wait ends at once when the calling task
/// is cancelled (the core drops a pairing, or the customer leaves the screen): the scan stops and
/// a pending connection is cancelled.
///
/// The app declares `NSBluetoothAlwaysUsageDescription`; without the permission every call
/// throws `BleError.Unavailable`.
public final class CoreBluetoothTransport: NSObject, BleTransport, @unchecked Sendable {
    /// How long a car in reach takes at most to accept the connection and serve the pairing
    /// service; past it the car is out of reach or busy with another phone.
    private static let openTimeout: Duration = .seconds(10)
    /// How long a write waits for the car's acknowledgement: a few connection intervals normally,
    /// so a write unacknowledged this long means the link is gone.
    private static let writeTimeout: Duration = .seconds(5)

    private let queue = DispatchQueue(label: "eu.caas.companion.ble")
    private let serviceID = CBUUID(string: pairingServiceUuid())
    private let writeID = CBUUID(string: pairingWriteCharacteristicUuid())
    private let indicateID = CBUUID(string: pairingIndicateCharacteristicUuid())

    // State, touched only on `queue`.
    private var manager: CBCentralManager?
    private var poweredWaiters: [CallbackCompletion<Void>] = []
    private var seen: [String: (peripheral: CBPeripheral, advertisement: BleAdvertisement)] = [:]
    private var links: [UUID: Link] = [:]

    /// Makes nothing yet: the central manager, whose creation shows the Bluetooth permission
    /// prompt, is made on the first pairing, when the customer knows why the app asks.
    public override init() {
        super.init()
    }

    /// The central manager, made on first use (on `queue`).
    private var central: CBCentralManager {
        dispatchPrecondition(condition: .onQueue(queue))
        if let manager { return manager }
        let made = CBCentralManager(delegate: self, queue: queue)
        manager = made
        return made
    }

    public func scan(timeoutMs: UInt32) async throws -> [BleAdvertisement] {
        try await poweredOn()
        queue.async { [self] in
            seen = [:]
            central.scanForPeripherals(withServices: [serviceID], options: [CBCentralManagerScanOptionAllowDuplicatesKey: false])
        }
        do {
            try await Task.sleep(for: .milliseconds(Int(timeoutMs)))
        } catch {
            // Cancelled: a scan left running would drain the battery for nobody.
            queue.async { [self] in central.stopScan() }
            throw error
        }
        return queue.sync { [self] in
            central.stopScan()
            return seen.values.map(\.advertisement)
        }
    }

    public func connect(peripheralId: String) async throws -> UInt16 {
        try await poweredOn()
        let link: Link = try queue.sync { [self] in
            guard let peripheral = seen[peripheralId]?.peripheral else {
                throw BleError.ConnectFailed(reason: "the car was not seen by the last scan")
            }
            let link = Link(peripheral: peripheral, transport: self)
            links[peripheral.identifier] = link
            return link
        }
        do {
            try await link.open(within: Self.openTimeout)
        } catch {
            // Timed out, failed or cancelled: cancelling the pending connection is what stops
            // CoreBluetooth from connecting later, for nobody.
            await disconnect(peripheralId: peripheralId)
            throw error
        }
        return link.attMTU
    }

    public func write(peripheralId: String, chunk: Data) async throws {
        try await link(peripheralId).write(chunk, within: Self.writeTimeout)
    }

    public func nextIndication(peripheralId: String, timeoutMs: UInt32) async throws -> Data? {
        try await link(peripheralId).nextIndication(within: .milliseconds(Int(timeoutMs)))
    }

    public func disconnect(peripheralId: String) async {
        queue.sync { [self] in
            guard let uuid = UUID(uuidString: peripheralId), let link = links.removeValue(forKey: uuid) else { return }
            link.fail(BleError.ConnectionLost(reason: "disconnected"))
            central.cancelPeripheralConnection(link.peripheral)
        }
    }

    private func link(_ peripheralId: String) throws -> Link {
        try queue.sync { [self] in
            guard let uuid = UUID(uuidString: peripheralId), let link = links[uuid] else {
                throw BleError.ConnectionLost(reason: "not connected")
            }
            return link
        }
    }

    /// Waits for Bluetooth to be on; throws at once when it is off, missing or not permitted. The
    /// first call makes the central manager: the wait then lasts while the permission prompt is up.
    private func poweredOn() async throws {
        try await awaitCallback { (completion: CallbackCompletion<Void>) in
            queue.async { [self] in
                switch central.state {
                case .poweredOn: completion.resume()
                case .unknown, .resetting: poweredWaiters.append(completion)
                case .unauthorized: completion.resume(throwing: BleError.Unavailable(reason: "Bluetooth is not allowed for this app"))
                case .unsupported: completion.resume(throwing: BleError.Unavailable(reason: "this device has no Bluetooth LE"))
                default: completion.resume(throwing: BleError.Unavailable(reason: "Bluetooth is off"))
                }
            }
        }
    }

    /// One connection to one car; its completions are resumed on the transport's queue.
    fileprivate final class Link: NSObject, CBPeripheralDelegate, @unchecked Sendable {
        let peripheral: CBPeripheral
        private unowned let transport: CoreBluetoothTransport
        private var opening: CallbackCompletion<Void>?
        private var writing: CallbackCompletion<Void>?
        private var waiting: CallbackCompletion<Data?>?
        private var indications: [Data] = []
        private var writeCharacteristic: CBCharacteristic?
        private var failure: Error?

        init(peripheral: CBPeripheral, transport: CoreBluetoothTransport) {
            self.peripheral = peripheral
            self.transport = transport
        }

        /// The ATT MTU: what a write without response may carry, plus the 3-byte ATT header.
        var attMTU: UInt16 {
            UInt16(clamping: peripheral.maximumWriteValueLength(for: .withoutResponse) + 3)
        }

        /// Connects, discovers the pairing service and subscribes to its indications.
        func open(within timeout: Duration) async throws {
            try await awaitCallback(
                timeout: timeout,
                onTimeout: { throw BleError.ConnectFailed(reason: "the car did not answer in time") }
            ) { (completion: CallbackCompletion<Void>) in
                transport.queue.async { [self] in
                    if let failure {
                        completion.resume(throwing: failure)
                    } else {
                        opening = completion
                        peripheral.delegate = self
                        transport.central.connect(peripheral)
                    }
                }
            }
        }

        func write(_ chunk: Data, within timeout: Duration) async throws {
            try await awaitCallback(
                timeout: timeout,
                onTimeout: { throw BleError.ConnectionLost(reason: "the car did not acknowledge a write") }
            ) { (completion: CallbackCompletion<Void>) in
                transport.queue.async { [self] in
                    if let failure {
                        completion.resume(throwing: failure)
                    } else if let characteristic = writeCharacteristic {
                        writing = completion
                        peripheral.writeValue(chunk, for: characteristic, type: .withResponse)
                    } else {
                        completion.resume(throwing: BleError.ConnectionLost(reason: "not connected"))
                    }
                }
            }
        }

        /// The next indication, or nil when none came within `timeout` (the core resends).
        func nextIndication(within timeout: Duration) async throws -> Data? {
            try await awaitCallback(timeout: timeout, onTimeout: { nil }) { (completion: CallbackCompletion<Data?>) in
                transport.queue.async { [self] in
                    if !indications.isEmpty {
                        completion.resume(returning: indications.removeFirst())
                    } else if let failure {
                        completion.resume(throwing: failure)
                    } else {
                        waiting = completion
                    }
                }
            }
        }

        /// Ends every wait with `error` (on the transport's queue).
        func fail(_ error: Error) {
            failure = error
            opening?.resume(throwing: error)
            opening = nil
            writing?.resume(throwing: error)
            writing = nil
            waiting?.resume(throwing: error)
            waiting = nil
        }

        func connected() {
            peripheral.discoverServices([transport.serviceID])
        }

        func peripheral(_ peripheral: CBPeripheral, didDiscoverServices error: Error?) {
            guard error == nil, let service = peripheral.services?.first(where: { $0.uuid == transport.serviceID }) else {
                return fail(BleError.ServiceMissing(reason: "the pairing service"))
            }
            peripheral.discoverCharacteristics([transport.writeID, transport.indicateID], for: service)
        }

        func peripheral(_ peripheral: CBPeripheral, didDiscoverCharacteristicsFor service: CBService, error: Error?) {
            let characteristics = service.characteristics ?? []
            guard error == nil,
                  let write = characteristics.first(where: { $0.uuid == transport.writeID && $0.properties.contains(.write) }),
                  let indicate = characteristics.first(where: { $0.uuid == transport.indicateID && $0.properties.contains(.indicate) })
            else {
                return fail(BleError.ServiceMissing(reason: "the pairing characteristics"))
            }
            writeCharacteristic = write
            peripheral.setNotifyValue(true, for: indicate)
        }

        func peripheral(_ peripheral: CBPeripheral, didUpdateNotificationStateFor characteristic: CBCharacteristic, error: Error?) {
            guard error == nil, characteristic.isNotifying else {
                return fail(BleError.ConnectFailed(reason: "could not subscribe to indications"))
            }
            opening?.resume()
            opening = nil
        }

        func peripheral(_ peripheral: CBPeripheral, didWriteValueFor characteristic: CBCharacteristic, error: Error?) {
            if let error {
                writing?.resume(throwing: BleError.ConnectionLost(reason: "write failed: \(error.localizedDescription)"))
            } else {
                writing?.resume()
            }
            writing = nil
        }

        /// An indication goes to the wait in progress; one that came after its wait timed out or
        /// was cancelled is kept for the next, as is one that came before any wait.
        func peripheral(_ peripheral: CBPeripheral, didUpdateValueFor characteristic: CBCharacteristic, error: Error?) {
            guard error == nil, characteristic.uuid == transport.indicateID, let value = characteristic.value else { return }
            let waiter = waiting
            waiting = nil
            if waiter?.resume(returning: value) != true {
                indications.append(value)
            }
        }
    }
}

extension CoreBluetoothTransport: CBCentralManagerDelegate {
    public func centralManagerDidUpdateState(_ central: CBCentralManager) {
        guard central.state != .unknown, central.state != .resetting else { return }
        let waiters = poweredWaiters
        poweredWaiters = []
        for waiter in waiters {
            if central.state == .poweredOn {
                waiter.resume()
            } else {
                waiter.resume(throwing: BleError.Unavailable(reason: "Bluetooth is off or not allowed"))
            }
        }
        if central.state != .poweredOn {
            for link in links.values { link.fail(BleError.ConnectionLost(reason: "Bluetooth went off")) }
        }
    }

    public func centralManager(
        _ central: CBCentralManager, didDiscover peripheral: CBPeripheral, advertisementData: [String: Any], rssi RSSI: NSNumber
    ) {
        let serviceData = advertisementData[CBAdvertisementDataServiceDataKey] as? [CBUUID: Data]
        guard let data = serviceData?[serviceID] else { return }
        let id = peripheral.identifier.uuidString
        seen[id] = (peripheral, BleAdvertisement(peripheralId: id, serviceData: data, rssi: Int16(clamping: RSSI.intValue)))
    }

    public func centralManager(_ central: CBCentralManager, didConnect peripheral: CBPeripheral) {
        links[peripheral.identifier]?.connected()
    }

    public func centralManager(_ central: CBCentralManager, didFailToConnect peripheral: CBPeripheral, error: Error?) {
        links.removeValue(forKey: peripheral.identifier)?
            .fail(BleError.ConnectFailed(reason: error?.localizedDescription ?? "the car refused the connection"))
    }

    public func centralManager(_ central: CBCentralManager, didDisconnectPeripheral peripheral: CBPeripheral, error: Error?) {
        links.removeValue(forKey: peripheral.identifier)?
            .fail(BleError.ConnectionLost(reason: error?.localizedDescription ?? "the car disconnected"))
    }
}
#endif
