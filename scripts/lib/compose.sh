# The app's Compose screens on the desktop JVM: compiled with the compiler's Compose plugin
# against Compose Multiplatform's desktop build (Maven Central serves it; AndroidX's Android
# build is served by Google's repository only), then their UI tests run headless with Skia.
# Versions come from the Gradle catalog. Needs kotlin.sh. Sourced by scripts/test.
#   compose_ready                      resolves the desktop libraries (once) into Maven's cache
#   compose_test BINDINGS LIBDIR OUT   compiles the screens and their tests; runs them

COMPOSE_POM_DIR=$CAAS_CACHE/compose-desktop

# The libraries, named with the versions to use: Maven keeps the nearest version of a library
# it meets, so the ones the screens are built with are listed, not left to the graph.
compose_libraries() {
  local compose lifecycle coroutines
  compose=$(catalog_version compose-multiplatform)
  lifecycle=$(catalog_version lifecycle)
  coroutines=$(catalog_version coroutines)
  cat <<LIST
org.jetbrains.compose.material3:material3-desktop:$compose
org.jetbrains.compose.ui:ui-test-junit4-desktop:$compose
org.jetbrains.compose.runtime:runtime-desktop:$compose
org.jetbrains.compose.runtime:runtime-saveable-desktop:$compose
org.jetbrains.compose.ui:ui-desktop:$compose
org.jetbrains.compose.ui:ui-geometry-desktop:$compose
org.jetbrains.compose.ui:ui-graphics-desktop:$compose
org.jetbrains.compose.ui:ui-text-desktop:$compose
org.jetbrains.compose.ui:ui-unit-desktop:$compose
org.jetbrains.compose.ui:ui-util-desktop:$compose
org.jetbrains.skiko:skiko-awt-runtime-linux-x64:$(catalog_version skiko)
org.jetbrains.androidx.lifecycle:lifecycle-runtime-compose-desktop:$(catalog_version lifecycle-multiplatform)
androidx.lifecycle:lifecycle-viewmodel-desktop:$lifecycle
androidx.lifecycle:lifecycle-runtime-desktop:$lifecycle
androidx.lifecycle:lifecycle-common-jvm:$lifecycle
org.jetbrains.kotlinx:kotlinx-coroutines-core-jvm:$coroutines
org.jetbrains.kotlinx:kotlinx-coroutines-test-jvm:$coroutines
com.google.zxing:core:$(catalog_version zxing-core)
LIST
}

compose_ready() {
  command -v mvn >/dev/null || apt_ensure maven
  mkdir -p "$COMPOSE_POM_DIR"
  local pom=$COMPOSE_POM_DIR/pom.xml dependencies="" coordinate group artifact version
  for coordinate in $(compose_libraries); do
    IFS=: read -r group artifact version <<<"$coordinate"
    # AndroidX's multiplatform roots publish no jar (Gradle picks their JVM variant, Maven
    # cannot); their JVM variants are listed above.
    dependencies="$dependencies<dependency><groupId>$group</groupId><artifactId>$artifact</artifactId><version>$version</version><exclusions><exclusion><groupId>androidx.lifecycle</groupId><artifactId>lifecycle-viewmodel</artifactId></exclusion></exclusions></dependency>"
  done
  local wanted="<project xmlns=\"http://maven.apache.org/POM/4.0.0\"><modelVersion>4.0.0</modelVersion><groupId>local</groupId><artifactId>compose-desktop</artifactId><version>1</version><dependencies>$dependencies</dependencies></project>"
  if [ ! -s "$COMPOSE_POM_DIR/classpath" ] || [ "$(cat "$pom" 2>/dev/null)" != "$wanted" ]; then
    log "resolving Compose for the desktop JVM (once)"
    echo "$wanted" >"$pom"
    if ! (cd "$COMPOSE_POM_DIR" && mvn -q dependency:build-classpath -Dmdep.outputFile=classpath.new >mvn.log 2>&1); then
      cat "$COMPOSE_POM_DIR/mvn.log" >&2
      echo "error: Compose for the desktop JVM did not resolve from Maven Central" >&2
      return 1
    fi
    mv "$COMPOSE_POM_DIR/classpath.new" "$COMPOSE_POM_DIR/classpath"
  fi
}

compose_test() {
  local bindings=$1 libdir=$2 out=$3 app=android/app/src/main/kotlin/eu/caas/companion/app
  rm -rf "$out" && mkdir -p "$out/generated"
  android_app_generated "$out/generated"
  local classpath
  classpath="$KOTLIN_HOME/lib/kotlin-stdlib.jar:$(cat "$COMPOSE_POM_DIR/classpath"):$KOTLIN_HOME/lib/kotlin-test.jar:$KOTLIN_HOME/lib/kotlin-test-junit5.jar"
  classpath="$classpath:/usr/share/java/jna.jar:/usr/share/java/junit-jupiter-api.jar:/usr/share/java/opentest4j.jar:/usr/share/java/apiguardian-api.jar"
  # shellcheck disable=SC2046
  "$KOTLIN_HOME/bin/kotlinc" -jvm-target 17 -nowarn -Xplugin="$KOTLIN_HOME/lib/compose-compiler-plugin.jar" \
    -cp "$classpath" -d "$out/classes" \
    $(find "$bindings" android/core/src/main/kotlin android/presentation/src/main/kotlin "$app/ui" android/app/src/desktopTest/kotlin -name '*.kt') \
    "$app/Format.kt" android/jvm/src/test/kotlin/eu/caas/companion/presentation/Fakes.kt "$out"/generated/R.kt
  java -Djna.library.path="$libdir" -Djava.awt.headless=true -jar /usr/share/java/junit-platform-console-standalone.jar \
    --class-path "$out/classes:$classpath" --select-package eu.caas.companion.app --disable-banner --details=tree \
    --fail-if-no-tests
}
