package eu.caas.companion.app

import android.Manifest
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import androidx.core.app.NotificationCompat
import androidx.core.app.NotificationManagerCompat
import androidx.core.content.ContextCompat
import eu.caas.companion.core.OrderDetail
import eu.caas.companion.core.orderStateWireName
import java.util.UUID

/**
 * One notification channel per kind of update, so a customer can silence the factory's progress
 * and keep the driver at the door. A push names only the event's type and order; the words come
 * from the order as the core just synced it, so no personal data travels in a push.
 */
object Notifications {
    enum class Channel(val id: String, val title: Int, val description: Int, val importance: Int) {
        MANUFACTURING("manufacturing", R.string.channel_manufacturing, R.string.channel_manufacturing_description, NotificationManager.IMPORTANCE_DEFAULT),
        PAYMENT("payment", R.string.channel_payment, R.string.channel_payment_description, NotificationManager.IMPORTANCE_HIGH),
        DELIVERY("delivery", R.string.channel_delivery, R.string.channel_delivery_description, NotificationManager.IMPORTANCE_HIGH),
        KEYS("keys", R.string.channel_keys, R.string.channel_keys_description, NotificationManager.IMPORTANCE_HIGH),
    }

    fun createChannels(context: Context) {
        val manager = context.getSystemService(NotificationManager::class.java)
        Channel.entries.forEach { channel ->
            manager.createNotificationChannel(
                NotificationChannel(channel.id, context.getString(channel.title), channel.importance).apply {
                    description = context.getString(channel.description)
                },
            )
        }
    }

    /** The channel for a push's event type (the core's wire names). */
    fun channelFor(eventType: String): Channel = when (eventType) {
        "final_payment_requested", "payment_reminder" -> Channel.PAYMENT
        "delivery_scheduled", "delivery_address_confirmed", "embarked", "customer_absent",
        "received_at_dealership", "pickup_required", "handed_over" -> Channel.DELIVERY
        "key_issued", "key_revoked", "app_linked" -> Channel.KEYS
        else -> Channel.MANUFACTURING
    }

    /** The link a notification opens: the order's screen. */
    fun orderLink(orderId: UUID): Uri = Uri.parse("caas://order/$orderId")

    fun show(context: Context, order: OrderDetail, eventType: String) {
        if (ContextCompat.checkSelfPermission(context, Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED) {
            return
        }
        val channel = channelFor(eventType)
        val open = PendingIntent.getActivity(
            context,
            order.summary.id.hashCode(),
            Intent(Intent.ACTION_VIEW, orderLink(order.summary.id), context, MainActivity::class.java),
            PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT,
        )
        val notification = NotificationCompat.Builder(context, channel.id)
            .setSmallIcon(android.R.drawable.stat_notify_sync)
            .setContentTitle(order.summary.basePlatform)
            .setContentText(text(order, eventType))
            .setContentIntent(open)
            .setAutoCancel(true)
            .build()
        NotificationManagerCompat.from(context).notify(order.summary.id.hashCode(), notification)
    }

    private fun text(order: OrderDetail, eventType: String): String = when (eventType) {
        "key_issued" -> "A phone key for your car was issued. If you did not pair a phone, contact your dealership."
        "key_revoked" -> "A phone key for your car was revoked."
        "final_payment_requested", "payment_reminder" ->
            order.finalPayment?.let { "${Money.format(it.amountDue)} due before ${Dates.day(it.deadline)}" } ?: "A payment is due"
        else -> "Now: ${orderStateWireName(order.summary.state).replace('_', ' ')}"
    }
}
