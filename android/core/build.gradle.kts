// The library the app depends on: the plain-Kotlin facade (src/main/kotlin, also built and
// tested for the desktop JVM by ../jvm), the Android-only pieces (src/androidMain/kotlin), the
// Kotlin bindings generated from the core for Android (build/generated/uniffi, by
// ../../scripts/bindings), and the core itself for each ABI (jniLibs built by
// ../../scripts/android-libs with cargo-ndk).
plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

val repoRoot = rootDir.parentFile
val generatedBindings = layout.buildDirectory.dir("generated/uniffi/kotlin")
val rustJniLibs = layout.buildDirectory.dir("rustJniLibs")

android {
    namespace = "eu.caas.companion"
    compileSdk = 35

    defaultConfig {
        minSdk = 29
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets["main"].apply {
        kotlin.srcDirs("src/main/kotlin", "src/androidMain/kotlin", generatedBindings)
        jniLibs.srcDir(rustJniLibs)
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

/** The Kotlin bindings, generated in library mode from the host build of the core. */
val generateBindings by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine("./scripts/bindings")
    outputs.dir(generatedBindings)
}

/** The core for every ABI the app ships, with cargo-ndk. */
val buildRustLibraries by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine("./scripts/android-libs", rustJniLibs.get().asFile.absolutePath)
    outputs.dir(rustJniLibs)
}

tasks.named("preBuild") {
    dependsOn(generateBindings, buildRustLibraries)
}

/** The version of rustls-platform-verifier's Kotlin half must be the one the core was built with. */
val rustlsVerifierVersion: String = repoRoot.resolve("Cargo.lock").readLines().let { lines ->
    val at = lines.indexOfFirst { it.trim() == "name = \"rustls-platform-verifier-android\"" }
    lines.getOrNull(at + 1)?.substringAfter('"')?.substringBefore('"')
        ?: error("rustls-platform-verifier-android is not in Cargo.lock")
}

dependencies {
    // The generated bindings call the core through JNA; the AAR carries its native part.
    api("${libs.jna.get()}@aar")
    api(libs.kotlinx.coroutines.android)
    // The generated bindings mark the Android cleaner with @RequiresApi.
    implementation(libs.androidx.annotation)
    implementation("rustls:rustls-platform-verifier:$rustlsVerifierVersion")
}
