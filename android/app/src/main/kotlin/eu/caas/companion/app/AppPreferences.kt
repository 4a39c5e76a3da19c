package eu.caas.companion.app

import android.content.Context
import eu.caas.companion.presentation.AppMemory
import eu.caas.companion.presentation.Role

/** What the app remembers across launches, in its private preferences (never backed up). */
class AppPreferences(context: Context) : AppMemory {
    private val preferences = context.getSharedPreferences("caas.app", Context.MODE_PRIVATE)

    override var notificationsAsked: Boolean
        get() = preferences.getBoolean(NOTIFICATIONS_ASKED, false)
        set(value) {
            preferences.edit().putBoolean(NOTIFICATIONS_ASKED, value).apply()
        }

    override var lastRole: Role?
        get() = preferences.getString(LAST_ROLE, null)?.let { name -> Role.entries.firstOrNull { it.name == name } }
        set(value) {
            preferences.edit().putString(LAST_ROLE, value?.name).apply()
        }

    private companion object {
        const val NOTIFICATIONS_ASKED = "notifications_asked"
        const val LAST_ROLE = "last_role"
    }
}
