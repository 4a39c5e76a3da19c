package eu.caas.companion

/** The JSON the core reads from an FCM data message: `{"data": {...}}` with string values. */
internal object FcmPayload {
    fun encode(data: Map<String, String>): String =
        data.entries.joinToString(prefix = "{\"data\":{", postfix = "}}", separator = ",") { (key, value) ->
            "${quote(key)}:${quote(value)}"
        }

    private fun quote(text: String): String = buildString {
        append('"')
        for (c in text) {
            when {
                c == '"' -> append("\\\"")
                c == '\\' -> append("\\\\")
                c < ' ' -> append("\\u%04x".format(c.code))
                else -> append(c)
            }
        }
        append('"')
    }
}
