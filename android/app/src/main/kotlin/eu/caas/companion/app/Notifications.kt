package eu.caas.companion.app

import android.Manifest
import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import eu.caas.companion.core.NotificationChannel as Channel
import eu.caas.companion.core.NotificationContent

/**
 * One notification channel per kind of update, so a customer can silence the factory's progress
 * and keep the driver at the door. The words of each notification are the core's, in the
 * phone's language; a push itself carries no personal data.
 */
object Notifications {
    private class ChannelInfo(val id: String, val title: Int, val description: Int, val importance: Int)

    private fun info(channel: Channel): ChannelInfo = when (channel) {
        Channel.MANUFACTURING -> ChannelInfo("manufacturing", R.string.channel_manufacturing, R.string.channel_manufacturing_description, NotificationManager.IMPORTANCE_DEFAULT)
        Channel.PAYMENT -> ChannelInfo("payment", R.string.channel_payment, R.string.channel_payment_description, NotificationManager.IMPORTANCE_HIGH)
        Channel.DELIVERY -> ChannelInfo("delivery", R.string.channel_delivery, R.string.channel_delivery_description, NotificationManager.IMPORTANCE_HIGH)
        Channel.KEYS -> ChannelInfo("keys", R.string.channel_keys, R.string.channel_keys_description, NotificationManager.IMPORTANCE_HIGH)
        Channel.CAR -> ChannelInfo("car", R.string.channel_car, R.string.channel_car_description, NotificationManager.IMPORTANCE_DEFAULT)
    }

    /** Creates (or renames, after a change of language) the channels; call at every start. */
    fun createChannels(context: Context) {
        val manager = context.getSystemService(NotificationManager::class.java) ?: return
        Channel.entries.map(::info).forEach { channel ->
            manager.createNotificationChannel(
                NotificationChannel(channel.id, context.getString(channel.title), channel.importance).apply {
                    description = context.getString(channel.description)
                },
            )
        }
    }

    /**
     * Whether the app may show notifications: Android 13 and later ask the person; before, the
     * person can only have turned them off in the settings.
     */
    fun allowed(context: Context): Boolean {
        val granted = Build.VERSION.SDK_INT < Build.VERSION_CODES.TIRAMISU ||
            context.checkSelfPermission(Manifest.permission.POST_NOTIFICATIONS) == PackageManager.PERMISSION_GRANTED
        return granted && context.getSystemService(NotificationManager::class.java)?.areNotificationsEnabled() == true
    }

    /**
     * Shows [content]: one notification per event, grouped by order (pushes arrive in any order,
     * so none may replace another: "pay before Friday" must not give way to an older state),
     * opening the order's screen once tapped. On a locked screen only the car and a generic line
     * show; amounts, addresses and names wait for the phone to be unlocked.
     */
    fun show(context: Context, content: NotificationContent) {
        if (!allowed(context)) return
        val open = PendingIntent.getActivity(
            context,
            content.orderId.hashCode(),
            Intent(Intent.ACTION_VIEW, Uri.parse(content.link)).setPackage(context.packageName),
            PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT,
        )
        val channel = info(content.channel).id
        val onLockScreen = Notification.Builder(context, channel)
            .setSmallIcon(android.R.drawable.stat_notify_sync)
            .setContentTitle(content.title)
            .setContentText(context.getString(R.string.notification_public))
            .build()
        val notification = Notification.Builder(context, channel)
            .setSmallIcon(android.R.drawable.stat_notify_sync)
            .setContentTitle(content.title)
            .setContentText(content.body)
            .setStyle(Notification.BigTextStyle().bigText(content.body))
            .setGroup(content.thread)
            .setVisibility(Notification.VISIBILITY_PRIVATE)
            .setPublicVersion(onLockScreen)
            .setContentIntent(open)
            .setAutoCancel(true)
            .build()
        context.getSystemService(NotificationManager::class.java)?.notify(content.eventId.toString(), NOTIFICATION_ID, notification)
    }

    /** The tag (the event) tells notifications apart. */
    private const val NOTIFICATION_ID = 1
}
