#if canImport(CoreBluetooth)
import CaasCore
import CoreBluetooth
import Foundation

/// The core's BLE transport over CoreBluetooth: a scan for the pairing service, then per car one
/// connection with the pairing service's characteristics discovered and indications subscribed.
/// Every CoreBluetooth callback arrives on one serial queue, where all the transport's state
/// lives; the async methods hop onto it.
///
/// The app declares `NSBluetoothAlwaysUsageDescription`; without the permission every call
/// throws `BleError.Unavailable`.
public final class CoreBluetoothTransport: NSObject, BleTransport, @unchecked Sendable {
    private let queue = DispatchQueue(label: "eu.caas.companion.ble")
    private var central: CBCentralManager!
    private let serviceID = CBUUID(string: pairingServiceUuid())
    private let writeID = CBUUID(string: pairingWriteCharacteristicUuid())
    private let indicateID = CBUUID(string: pairingIndicateCharacteristicUuid())

    // State, touched only on `queue`.
    private var poweredWaiters: [CheckedContinuation<Void, Error>] = []
    private var seen: [String: (peripheral: CBPeripheral, advertisement: BleAdvertisement)] = [:]
    private var links: [UUID: Link] = [:]

    public override init() {
        super.init()
        central = CBCentralManager(delegate: self, queue: queue)
    }

    public func scan(timeoutMs: UInt32) async throws -> [BleAdvertisement] {
        try await poweredOn()
        queue.async { [self] in
            seen = [:]
            central.scanForPeripherals(withServices: [serviceID], options: [CBCentralManagerScanOptionAllowDuplicatesKey: false])
        }
        try await Task.sleep(nanoseconds: UInt64(timeoutMs) * 1_000_000)
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
            try await link.open()
        } catch {
            await disconnect(peripheralId: peripheralId)
            throw error
        }
        return link.attMTU
    }

    public func write(peripheralId: String, chunk: Data) async throws {
        try await link(peripheralId).write(chunk)
    }

    public func nextIndication(peripheralId: String, timeoutMs: UInt32) async throws -> Data? {
        try await link(peripheralId).nextIndication(timeoutMs: timeoutMs)
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

    /// Waits for Bluetooth to be on; throws at once when it is off, missing or not permitted.
    private func poweredOn() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            queue.async { [self] in
                switch central.state {
                case .poweredOn: continuation.resume()
                case .unknown, .resetting: poweredWaiters.append(continuation)
                case .unauthorized: continuation.resume(throwing: BleError.Unavailable(reason: "Bluetooth is not allowed for this app"))
                case .unsupported: continuation.resume(throwing: BleError.Unavailable(reason: "this device has no Bluetooth LE"))
                default: continuation.resume(throwing: BleError.Unavailable(reason: "Bluetooth is off"))
                }
            }
        }
    }

    /// One connection to one car; its continuations are resumed on the transport's queue.
    fileprivate final class Link: NSObject, CBPeripheralDelegate, @unchecked Sendable {
        let peripheral: CBPeripheral
        private unowned let transport: CoreBluetoothTransport
        private var opening: CheckedContinuation<Void, Error>?
        private var writing: CheckedContinuation<Void, Error>?
        private var waiting: (token: UUID, continuation: CheckedContinuation<Data?, Error>)?
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

        func open() async throws {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                transport.queue.async { [self] in
                    opening = continuation
                    peripheral.delegate = self
                    transport.central.connect(peripheral)
                }
            }
        }

        func write(_ chunk: Data) async throws {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                transport.queue.async { [self] in
                    if let failure { return continuation.resume(throwing: failure) }
                    guard let characteristic = writeCharacteristic else {
                        return continuation.resume(throwing: BleError.ConnectionLost(reason: "not connected"))
                    }
                    writing = continuation
                    peripheral.writeValue(chunk, for: characteristic, type: .withResponse)
                }
            }
        }

        func nextIndication(timeoutMs: UInt32) async throws -> Data? {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data?, Error>) in
                transport.queue.async { [self] in
                    if !indications.isEmpty { return continuation.resume(returning: indications.removeFirst()) }
                    if let failure { return continuation.resume(throwing: failure) }
                    let token = UUID()
                    waiting = (token, continuation)
                    transport.queue.asyncAfter(deadline: .now() + .milliseconds(Int(timeoutMs))) { [self] in
                        guard let waiter = waiting, waiter.token == token else { return }
                        waiting = nil
                        waiter.continuation.resume(returning: nil)
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
            waiting?.continuation.resume(throwing: error)
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

        func peripheral(_ peripheral: CBPeripheral, didUpdateValueFor characteristic: CBCharacteristic, error: Error?) {
            guard error == nil, characteristic.uuid == transport.indicateID, let value = characteristic.value else { return }
            if let waiter = waiting {
                waiting = nil
                waiter.continuation.resume(returning: value)
            } else {
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
