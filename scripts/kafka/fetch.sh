#!/usr/bin/env bash
# Fetches the Apache Kafka broker for the integration tests (*.kafka.test.ts) from the Maven registry:
# org.apache.kafka:kafka_2.13 with its runtime dependencies and a log4j2 backend (scripts/kafka/pom.xml), copied by
# `mvn dependency:copy-dependencies` into .cache/kafka/lib (git-ignored). Skips when the jars for this pom.xml are
# there already; prints the folder. Needs Maven and Java 17+ (apt-get install -y maven openjdk-17-jre-headless).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
pom="$root/scripts/kafka/pom.xml"
lib="${NAPKIN_KAFKA_LIB:-$root/.cache/kafka/lib}"
stamp="$(sha256sum "$pom" | cut -c1-16)"

if [ -f "$lib/.fetched-$stamp" ]; then
  echo "kafka: jars present in $lib ($(find "$lib" -name '*.jar' | wc -l) jars)"
  exit 0
fi
if ! command -v mvn >/dev/null 2>&1; then
  echo "kafka: mvn not found; install Maven (apt-get install -y maven) and run scripts/kafka/fetch.sh again" >&2
  exit 1
fi

# Copy into a fresh folder beside the target and move it into place only when complete, so an interrupted fetch
# leaves no half-filled lib behind.
mkdir -p "$(dirname "$lib")"
tmp="$(mktemp -d "$lib.tmp.XXXXXX")"
log="$(mktemp)"
trap 'rm -rf "$tmp" "$log"' EXIT
echo "kafka: fetching the broker's jars with Maven into $lib"
if ! mvn -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
  -DoutputDirectory="$tmp" >"$log" 2>&1; then
  grep -E '\[(ERROR|FATAL)\]' "$log" | head -20 >&2 || tail -20 "$log" >&2
  echo "kafka: mvn dependency:copy-dependencies failed (its errors are above)" >&2
  exit 1
fi
touch "$tmp/.fetched-$stamp"
rm -rf "$lib"
mv "$tmp" "$lib"
rm -f "$log"
trap - EXIT
echo "kafka: $(find "$lib" -name '*.jar' | wc -l) jars, $(du -sh "$lib" | cut -f1), in $lib"
