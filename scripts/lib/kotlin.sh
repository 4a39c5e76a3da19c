# Kotlin without Gradle or the Android SDK, with the versions the Gradle catalog pins
# (android/gradle/libs.versions.toml): JetBrains' compiler from the npm registry, the libraries
# from Maven Central (both cached outside the clone), JNA and JUnit 5 from Debian. Sourced by
# scripts/test.
#   kotlin_ready                       installs what is missing
#   kotlin_test BINDINGS LIBDIR OUT    compiles the JVM module (facade, view models, bindings) and its tests; runs them
#   android_ready                      fetches the Android framework jar and the AndroidX annotations
#   android_compile BINDINGS OUT       compiles the Android-only Kotlin against the Android framework

CATALOG=android/gradle/libs.versions.toml
CAAS_CACHE=${CAAS_CACHE:-$HOME/.cache/caas-companion}
M2=$HOME/.m2/repository

# A version the Gradle catalog pins; fails when it pins none.
catalog_version() {
  local version
  version=$(sed -n "s/^$1 = \"\\(.*\\)\"$/\\1/p" "$CATALOG")
  [ -n "$version" ] || { echo "error: $CATALOG pins no version \"$1\"" >&2; return 1; }
  echo "$version"
}

KOTLIN_VERSION=$(catalog_version kotlin)
KOTLIN_HOME=${CAAS_KOTLIN_HOME:-$CAAS_CACHE/kotlin-$KOTLIN_VERSION}

# group:artifact:version -> the jar in Maven's local repository.
maven_jar() {
  local group=${1%%:*} rest=${1#*:}
  local artifact=${rest%%:*} version=${rest#*:}
  echo "$M2/${group//.//}/$artifact/$version/$artifact-$version.jar"
}

maven_fetch() {
  command -v mvn >/dev/null || apt_ensure maven
  local coordinate
  for coordinate in "$@"; do
    [ -f "$(maven_jar "$coordinate")" ] || mvn -q dependency:get -Dartifact="$coordinate" -Dtransitive=false
  done
}

# The JVM libraries of the facade, the view models and their tests (each listed with what it
# needs at run time; the rest of their dependencies are compile-time annotations).
jvm_libraries() {
  local coroutines lifecycle
  coroutines=$(catalog_version coroutines)
  lifecycle=$(catalog_version lifecycle)
  echo "org.jetbrains.kotlinx:kotlinx-coroutines-core-jvm:$coroutines"
  echo "org.jetbrains.kotlinx:kotlinx-coroutines-test-jvm:$coroutines"
  echo "androidx.lifecycle:lifecycle-viewmodel-desktop:$lifecycle"
  echo "androidx.annotation:annotation-jvm:$(catalog_version androidx-annotation)"
}

kotlin_ready() {
  command -v javac >/dev/null || apt_ensure default-jdk-headless
  apt_ensure libjna-java junit5
  if [ ! -x "$KOTLIN_HOME/bin/kotlinc" ]; then
    log "fetching the Kotlin compiler $KOTLIN_VERSION (once)"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null && tar xzf "kotlin-compiler-$KOTLIN_VERSION.tgz")
    mkdir -p "$(dirname "$KOTLIN_HOME")"
    rm -rf "$KOTLIN_HOME"
    mv "$tmp/package" "$KOTLIN_HOME"
    rm -rf "$tmp"
  fi
  # shellcheck disable=SC2046
  maven_fetch $(jvm_libraries)
}

# The libraries the JVM module and its tests need at compile and run time.
kotlin_classpath() {
  local lib=$KOTLIN_HOME/lib java=/usr/share/java cp coordinate
  cp="$java/jna.jar:$lib/kotlin-stdlib.jar:$lib/kotlin-test.jar:$lib/kotlin-test-junit5.jar"
  cp="$cp:$java/junit-jupiter-api.jar:$java/opentest4j.jar:$java/apiguardian-api.jar:$java/junit-platform-commons.jar"
  for coordinate in $(jvm_libraries); do cp="$cp:$(maven_jar "$coordinate")"; done
  echo "$cp"
}

# The JVM module's sources (android/jvm: the facade, the view models) with the generated
# bindings, its tests, and any extra source folders, compiled into OUT.
kotlin_compile() {
  local bindings=$1 out=$2; shift 2
  rm -rf "$out" && mkdir -p "$out"
  # shellcheck disable=SC2046
  "$KOTLIN_HOME/bin/kotlinc" -jvm-target 17 -nowarn -cp "$(kotlin_classpath)" -d "$out" \
    $(find "$bindings" android/core/src/main/kotlin android/presentation/src/main/kotlin android/jvm/src/test/kotlin "$@" -name '*.kt')
}

kotlin_test() {
  local bindings=$1 libdir=$2 out=$3
  kotlin_compile "$bindings" "$out"
  java -Djna.library.path="$libdir" -jar /usr/share/java/junit-platform-console-standalone.jar \
    --class-path "$out:$(kotlin_classpath)" --select-package eu.caas.companion --disable-banner --details=tree \
    --fail-if-no-tests
}

# The Android framework of the modules' compileSdk (35) as a jar: Robolectric's android-all, the
# real framework classes, from Maven Central, kept in Maven's own cache outside the clone.
ANDROID_ALL_VERSION=15-robolectric-12650502
ANDROID_ALL=$(maven_jar "org.robolectric:android-all:$ANDROID_ALL_VERSION")

android_ready() {
  maven_fetch "org.robolectric:android-all:$ANDROID_ALL_VERSION"
}

# The classes AGP generates for the app, written from the same sources it reads: R (the names in
# res/values/strings.xml) and BuildConfig (the default config's buildConfigField in
# build.gradle.kts). They let the app's Kotlin be type-checked, a missing string included.
android_app_generated() {
  local out=$1 app=android/app res=android/app/src/main/res id=$((0x7f010000))
  {
    echo "package eu.caas.companion.app"
    echo "object R {"
    for kind in string plurals; do
      echo "    object $kind {"
      for name in $(sed -n "s/.*<$kind name=\"\([a-z0-9_]*\)\".*/\1/p" "$res/values/strings.xml"); do
        echo "        const val $name = $id"
        id=$((id + 1))
      done
      echo "    }"
    done
    echo "}"
  } >"$out/R.kt"
  local backend
  backend=$(sed -n '/defaultConfig/,/}/s/.*buildConfigField("String", "BACKEND_URL", "\\"\(.*\)\\"").*/\1/p' "$app/build.gradle.kts")
  [ -n "$backend" ] || { echo "error: no BACKEND_URL in $app/build.gradle.kts" >&2; return 1; }
  printf 'package eu.caas.companion.app\nobject BuildConfig {\n    const val BACKEND_URL = "%s"\n}\n' "$backend" >"$out/BuildConfig.kt"
}

# Compiles every Kotlin file that uses the Android API and nothing Google's repository alone
# serves, against the Android framework into OUT: the core module's Android-only code
# (Bluetooth GATT, Keystore, Logcat, TLS) with the facade and the bindings generated for
# Android, the view models, and the app's own package (services, notifications, pushes,
# preferences; its Compose screens in ui/ and its Google Play glue in play/ need AndroidX and
# Firebase, which Maven Central does not serve). Extra arguments are more sources (the check
# that a broken file fails it).
android_compile() {
  local bindings=$1 out=$2; shift 2
  rm -rf "$out" && mkdir -p "$out/generated"
  android_app_generated "$out/generated"
  # shellcheck disable=SC2046
  "$KOTLIN_HOME/bin/kotlinc" -jvm-target 17 -nowarn -cp "$(kotlin_classpath):$ANDROID_ALL" -d "$out/classes" \
    $(find "$bindings" android/core/src/main/kotlin android/core/src/androidMain/kotlin android/presentation/src/main/kotlin -name '*.kt') \
    android/app/src/main/kotlin/eu/caas/companion/app/*.kt "$out"/generated/*.kt "$@"
}
