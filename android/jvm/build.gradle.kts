// The facade and the view models built for the desktop JVM, with their tests (as bdk-ffi's
// bdk-jvm beside bdk-android): the same sources as ../core and ../presentation, the bindings
// generated for the JVM (../../build/bindings/kotlin), JNA's jar instead of its AAR. The tests run
// against the host build of the core (target/debug) and a platform mock whose URL and sandbox
// token come from CAAS_BACKEND and CAAS_SANDBOX_TOKEN, as ../../scripts/test starts it.
plugins {
    alias(libs.plugins.kotlin.jvm)
}

val repoRoot = rootDir.parentFile

kotlin {
    jvmToolchain(17)
    sourceSets {
        main {
            kotlin.srcDirs(
                "../core/src/main/kotlin",
                "../presentation/src/main/kotlin",
                repoRoot.resolve("build/bindings/kotlin"),
            )
        }
    }
}

dependencies {
    implementation(libs.jna)
    implementation(libs.kotlinx.coroutines.core)
    implementation(libs.lifecycle.viewmodel)
    testImplementation(kotlin("test-junit5"))
    testImplementation(libs.kotlinx.coroutines.test)
    testImplementation(platform(libs.junit.bom))
    testImplementation(libs.junit.jupiter)
    testRuntimeOnly(libs.junit.platform.launcher)
}

// scripts/bindings writes the JVM bindings with the Android ones.
tasks.named("compileKotlin") { dependsOn(":core:generateBindings") }

tasks.test {
    useJUnitPlatform()
    systemProperty("jna.library.path", repoRoot.resolve("target/debug").absolutePath)
}
