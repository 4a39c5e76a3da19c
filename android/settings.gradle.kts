// The Android shell: `core` is the library (the facade over the generated bindings, and the
// Android-only pieces: BluetoothGatt transport, Keystore device key and secret store, Logcat),
// `app` the companion app (Compose screens, FCM, notifications, deep links).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
        // The Kotlin half of rustls-platform-verifier, which the core's TLS uses on Android.
        maven("https://github.com/rustls/rustls-platform-verifier/raw/maven-archive/android-release-support/maven/") {
            content { includeGroup("rustls") }
        }
    }
}

rootProject.name = "caas-companion"
include(":core", ":app")
