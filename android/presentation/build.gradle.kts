// The view models of every screen: plain Kotlin over the facade's interfaces (CustomerService,
// DriverService) and AndroidX's multiplatform ViewModel, with no Android API, so the same sources
// are tested on the desktop JVM by ../jvm against fakes and against the real core.
plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "eu.caas.companion.presentation"
    compileSdk = 35

    defaultConfig {
        minSdk = 29
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    api(project(":core"))
    api(libs.lifecycle.viewmodel)
}
