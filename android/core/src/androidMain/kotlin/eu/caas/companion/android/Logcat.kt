package eu.caas.companion.android

import android.util.Log
import eu.caas.companion.CaasLog
import eu.caas.companion.core.LogLevel

/** Routes the core's logs to Logcat, tagged with their Rust target (shortened to Logcat's limit). */
object Logcat {
    fun install(minLevel: LogLevel = LogLevel.INFO) = CaasLog.install(minLevel) { level, target, message ->
        val priority = when (level) {
            LogLevel.ERROR -> Log.ERROR
            LogLevel.WARN -> Log.WARN
            LogLevel.INFO -> Log.INFO
            LogLevel.DEBUG -> Log.DEBUG
            LogLevel.TRACE -> Log.VERBOSE
        }
        Log.println(priority, target.takeLast(23), message)
    }
}
