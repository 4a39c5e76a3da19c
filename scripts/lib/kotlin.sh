# Kotlin on the JVM without Gradle or the Android SDK: JetBrains' compiler from the npm registry
# (cached), JNA and JUnit 5 from Debian. Sourced by scripts/test.
#   kotlin_ready                       installs what is missing
#   kotlin_test BINDINGS LIBDIR OUT    compiles the generated bindings, the facade and its tests; runs them

KOTLIN_VERSION=2.4.20
CAAS_CACHE=${CAAS_CACHE:-$HOME/.cache/caas-companion}
KOTLIN_HOME=${CAAS_KOTLIN_HOME:-$CAAS_CACHE/kotlin-$KOTLIN_VERSION}

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
}

# The libraries the facade, its tests and the generated bindings need at compile and run time.
kotlin_classpath() {
  local lib=$KOTLIN_HOME/lib java=/usr/share/java
  local cp="$java/jna.jar:$lib/kotlin-stdlib.jar:$lib/kotlinx-coroutines-core-jvm.jar:$lib/kotlin-test.jar"
  cp="$cp:$lib/kotlin-test-junit5.jar:$java/junit-jupiter-api.jar:$java/opentest4j.jar:$java/apiguardian-api.jar"
  echo "$cp:$java/junit-platform-commons.jar"
}

# Compiles the generated bindings, the facade, its tests and any extra source folders into OUT.
kotlin_compile() {
  local bindings=$1 out=$2; shift 2
  rm -rf "$out" && mkdir -p "$out"
  # shellcheck disable=SC2046
  "$KOTLIN_HOME/bin/kotlinc" -jvm-target 17 -nowarn -cp "$(kotlin_classpath)" -d "$out" \
    $(find "$bindings" android/core/src/main/kotlin android/core/src/test/kotlin "$@" -name '*.kt')
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
ANDROID_ALL=$HOME/.m2/repository/org/robolectric/android-all/$ANDROID_ALL_VERSION/android-all-$ANDROID_ALL_VERSION.jar

android_ready() {
  command -v mvn >/dev/null || apt_ensure maven
  if [ ! -f "$ANDROID_ALL" ]; then
    log "fetching the Android framework jar $ANDROID_ALL_VERSION (once)"
    mvn -q dependency:get -Dartifact="org.robolectric:android-all:$ANDROID_ALL_VERSION" -Dtransitive=false
  fi
}

# Compiles the Android-only code of the core module (Bluetooth GATT, Keystore, Logcat, TLS) with
# the facade and the generated bindings against the Android framework into OUT: what the JVM
# tests cannot load is at least type-checked against the API it runs on.
android_compile() {
  local bindings=$1 out=$2
  rm -rf "$out" && mkdir -p "$out"
  # shellcheck disable=SC2046
  "$KOTLIN_HOME/bin/kotlinc" -jvm-target 17 -nowarn -cp "$(kotlin_classpath):$ANDROID_ALL" -d "$out" \
    $(find "$bindings" android/core/src/main/kotlin android/core/src/androidMain/kotlin -name '*.kt')
}
