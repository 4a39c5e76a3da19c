package eu.caas.companion

import eu.caas.companion.core.LogLevel

/**
 * The core's log, kept in memory so that a test that fails on something the core did in the
 * background (a push stream that dropped, a push it could not handle) can say what the core said.
 * The core takes one log sink per process: this one is installed at the first [mark], and serves
 * every test that marks after that.
 */
object CoreLog {
    private const val KEPT = 5_000

    /** The latest [KEPT] lines, each with its number; guarded by itself. */
    private val lines = ArrayDeque<Pair<Long, String>>()
    private var written = 0L

    /** Whether this was the process's first sink, as the core reports it. */
    val installed: Boolean = CaasLog.install(LogLevel.DEBUG) { level, target, message ->
        synchronized(lines) {
            lines.addLast(++written to "$level $target $message")
            if (lines.size > KEPT) lines.removeFirst()
        }
    }

    /** A point in the log; [since] gives what came after it. */
    fun mark(): Long {
        check(installed) { "the core's log sink was installed elsewhere first" }
        return synchronized(lines) { written }
    }

    /** The lines logged after [mark], oldest first; the first says so when older ones were dropped. */
    fun since(mark: Long): List<String> = synchronized(lines) {
        val kept = lines.filter { it.first > mark }.map { it.second }
        val dropped = (lines.firstOrNull()?.first ?: (written + 1)) - mark - 1
        if (dropped > 0) listOf("($dropped earlier lines dropped)") + kept else kept
    }
}
