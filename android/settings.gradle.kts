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
    }
}

rootProject.name = "caas-companion"
include(":core", ":app")
