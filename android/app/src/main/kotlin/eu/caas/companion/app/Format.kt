package eu.caas.companion.app

import eu.caas.companion.core.DeliveryWindow
import java.math.BigDecimal
import java.text.NumberFormat
import java.time.Instant
import java.time.LocalDate
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.time.format.FormatStyle
import java.util.Currency

/** Money as the customer reads it, in their locale: `34.100,00 €`. */
object Money {
    fun format(money: eu.caas.companion.core.Money): String {
        val amount = BigDecimal.valueOf(money.amountMinor, 2)
        // A currency this phone does not know is written by its code.
        val currency = runCatching { Currency.getInstance(money.currency) }.getOrNull()
            ?: return "${NumberFormat.getNumberInstance().apply { minimumFractionDigits = 2 }.format(amount)} ${money.currency}"
        return NumberFormat.getCurrencyInstance().apply { this.currency = currency }.format(amount)
    }
}

/** Times in the phone's zone and locale. */
object Dates {
    private val zone: ZoneId get() = ZoneId.systemDefault()

    fun day(instant: Instant): String = DateTimeFormatter.ofLocalizedDate(FormatStyle.MEDIUM).withZone(zone).format(instant)

    /** A calendar day (a completion date), the same wherever the phone is. */
    fun day(date: LocalDate): String = DateTimeFormatter.ofLocalizedDate(FormatStyle.MEDIUM).format(date)

    fun moment(instant: Instant): String =
        DateTimeFormatter.ofLocalizedDateTime(FormatStyle.MEDIUM, FormatStyle.SHORT).withZone(zone).format(instant)

    /** A time of the day, for an expected arrival. */
    fun time(instant: Instant): String = DateTimeFormatter.ofLocalizedTime(FormatStyle.SHORT).withZone(zone).format(instant)

    fun window(window: DeliveryWindow): String = span(window.start, window.end)

    /** A span within a day, as a workshop slot: `12 mar 2026, 9:00–10:00`. */
    fun span(start: Instant, end: Instant): String = "${day(start)}, ${time(start)}–${time(end)}"
}

/** Distances as the customer reads them, in their locale: `19.212 km`. */
object Distance {
    fun km(km: UInt): String = "${NumberFormat.getIntegerInstance().format(km.toLong())} km"
}
