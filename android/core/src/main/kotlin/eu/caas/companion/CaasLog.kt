package eu.caas.companion

import eu.caas.companion.core.LogLevel
import eu.caas.companion.core.LogSink
import eu.caas.companion.core.installLogSink

/**
 * Routes the core's logs to the platform's logger: Logcat in the app (`Log.println` with the
 * target as tag), standard output in JVM tests. Install once, before opening the repository.
 */
object CaasLog {
    fun install(minLevel: LogLevel = LogLevel.INFO, write: (level: LogLevel, target: String, message: String) -> Unit): Boolean =
        installLogSink(object : LogSink {
            override fun log(level: LogLevel, target: String, message: String) = write(level, target, message)
        }, minLevel)
}
