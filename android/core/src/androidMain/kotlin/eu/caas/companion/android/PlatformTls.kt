package eu.caas.companion.android

import android.content.Context

/**
 * Hands the app's context to the core once, so its HTTPS client checks certificates with
 * Android's own verifier (the system's trust store and the app's network security config). Call
 * [init] from `Application.onCreate`, before the repositories open.
 */
object PlatformTls {
    init {
        // JNI finds `init` only in a library loaded through the class's loader; JNA's own load of
        // the same library does not register it.
        System.loadLibrary("caas_ffi")
    }

    @JvmStatic
    external fun init(context: Context)
}
