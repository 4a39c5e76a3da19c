// The Android shell: `core` is the library (the facade over the generated bindings, and the
// Android-only pieces: BluetoothGatt transport, Keystore device key and secret store, Logcat),
// `presentation` the view models (no Android API), `app` the companion app (Compose screens, FCM,
// notifications, deep links), and `jvm` the facade and the view models built for the desktop JVM
// with their tests, run against the host build of the core.
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
include(":core", ":presentation", ":app", ":jvm")
