#!/usr/bin/env bash
# A single-node Kafka broker (KRaft) on 127.0.0.1 for trying napkin by hand: fetches the jars when missing
# (scripts/kafka/fetch.sh), starts the same broker as the integration tests and prints its bootstrap address.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
"$root/scripts/kafka/fetch.sh"
cd "$root"
exec node --import tsx scripts/kafka/start.ts
