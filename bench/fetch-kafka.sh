#!/usr/bin/env bash
# Makes sure the jars of Apache Kafka 4.1.1 (the broker, kafka-tools and everything they need at
# run time, with the log4j2 binding Kafka's own distribution uses) are in a local cache, resolving
# them from Maven Central through the project's Maven wrapper when they are missing. Prints the
# directory that holds them (the only line on stdout; progress goes to stderr).
#
#   bench/fetch-kafka.sh            # -> $FJORD_BENCH_CACHE/kafka-4.1.1/lib
#   KAFKA_VERSION=4.1.1 bench/fetch-kafka.sh
#
# Env: FJORD_BENCH_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/fjord-bench), KAFKA_VERSION
# (4.1.1; the comparison is only documented for that one), LOG4J_VERSION (2.24.3, as Kafka 4.1.1
# ships). A directory is used only once it is complete (a .complete marker is written last), so an
# interrupted fetch is redone, not half-used.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
LOG4J_VERSION="${LOG4J_VERSION:-2.24.3}"
CACHE="${FJORD_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fjord-bench}"
LIB="$CACHE/kafka-$KAFKA_VERSION/lib"

if [[ -f "$LIB/.complete" && -f "$LIB/kafka_2.13-$KAFKA_VERSION.jar" && -f "$LIB/kafka-tools-$KAFKA_VERSION.jar" ]]; then
    echo "$LIB"
    exit 0
fi

. "$REPO/bench/lib.sh"
JAVA_HOME="$(pick_java_home)"
export JAVA_HOME

echo "fetch-kafka: resolving Kafka $KAFKA_VERSION and kafka-tools from Maven Central into $LIB" >&2
work="$(mktemp -d "${TMPDIR:-/tmp}/fjord-fetch-kafka.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rm -rf "$LIB"
mkdir -p "$LIB"
# A throwaway POM whose runtime dependencies are exactly the jars wanted.
cat >"$work/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.fjord.bench</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
"$REPO/mvnw" -q -B -f "$work/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIB" >&2
# One SLF4J binding only: log4j2's (Kafka's distribution has no reload4j binding either).
rm -f "$LIB"/slf4j-reload4j-*.jar "$LIB"/slf4j-log4j12-*.jar "$LIB"/log4j-1.*.jar
for j in "kafka_2.13-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar"; do
    [[ -f "$LIB/$j" ]] || { echo "fetch-kafka: $j missing after the fetch" >&2; exit 1; }
done
touch "$LIB/.complete"
echo "fetch-kafka: $(ls "$LIB"/*.jar | wc -l) jars in $LIB" >&2
echo "$LIB"
