package eu.caas.companion

import eu.caas.companion.core.BleTransport
import eu.caas.companion.core.OrderState
import eu.caas.companion.core.PushStreamHandle
import java.io.File
import java.nio.file.Files
import java.util.UUID
import kotlin.test.assertNotNull
import kotlinx.coroutines.flow.collect
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout

/** The steps the journeys share: a car sold, built, paid and booked; a driver; the handover. */
class Journeys(val sandbox: Sandbox = Sandbox()) {
    /** The driver who works for each transport company serving Madrid. */
    private val drivers = mapOf(
        "iberia-carriers" to "lucia@iberia-carriers.example",
        "meseta-logistics" to "carmen@meseta-logistics.example",
    )

    fun tempDir(): File = Files.createTempDirectory("caas-kt").toFile()

    /**
     * A customer whose car is paid, registered and booked on a transport, following it by push;
     * returns the order id and the push stream to close.
     */
    suspend fun bookedCar(repository: CaasRepository, email: String): Pair<UUID, PushStreamHandle> {
        val order = sandbox.sell(email)
        repository.requestSignInCode(email)
        repository.signIn(email, sandbox.signInCode(email))
        val pushes = repository.connectDevelopmentPushStream()
        sandbox.reserve(order)
        sandbox.advance(order, "dispatched_to_locality")
        repository.sync()
        repository.pay(order, PaymentCard("4242424242424242", 12, 2034, "123"))
        withTimeout(15_000) { repository.order(order).first { it.summary.state == OrderState.TRANSPORT_SCHEDULED } }
        return order to pushes
    }

    /** The driver of the company carrying [order], signed in on a phone in [dir]. */
    suspend fun driverFor(
        repository: CaasRepository,
        order: UUID,
        dir: File,
        secrets: MemorySecretStore = MemorySecretStore(),
    ): DriverRepository {
        val company = assertNotNull(repository.orderSnapshot(order).delivery).company.id
        val email = drivers.getValue(company)
        val driver = DriverRepository.open(sandbox.url, dir, secrets)
        driver.requestSignInCode(email)
        driver.signIn(email, sandbox.signInCode(email))
        return driver
    }

    /**
     * A customer whose car is handed over and linked to the phone over [transport], so it is
     * `operational`; returns the order id and the push stream to close.
     */
    suspend fun operationalCar(repository: CaasRepository, email: String, transport: BleTransport): Pair<UUID, PushStreamHandle> {
        val (order, pushes) = bookedCar(repository, email)
        try {
            handOver(repository, order)
            repository.pairVehicle(order, transport).collect()
            withTimeout(15_000) { repository.order(order).first { it.summary.state == OrderState.OPERATIONAL } }
        } catch (failed: Throwable) {
            pushes.close()
            throw failed
        }
        return order to pushes
    }

    /** Takes a booked car to the customer's door and hands it over on the customer's code. */
    suspend fun handOver(repository: CaasRepository, order: UUID) {
        repository.confirmDeliveryAddress(order)
        driverFor(repository, order, tempDir()).use { driver ->
            val job = driver.refresh().single { it.orderId == order }
            driver.embark(job.deliveryId, job.vin)
            driver.arrive(job.deliveryId)
            driver.confirmHandover(job.deliveryId, repository.handoverCode(order).token)
        }
        withTimeout(15_000) { repository.order(order).first { it.summary.state == OrderState.DELIVERED } }
    }
}
