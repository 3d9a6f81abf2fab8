#!/bin/bash
# callgrind.sh counts the instructions a server spends in user space on a
# request, with valgrind's callgrind: it starts the server command under
# callgrind, sends 500 requests to warm it up, zeroes the counters, sends
# 3,000 more on one keep-alive connection (benchtable -send), and prints
# the count divided by 3,000. Counts are repeatable where timings are not
# (within about 2% between runs: the server's own timers run too).
#
#   go build -o /tmp/benchtable ./internal/cmd/benchtable
#   go build -o /tmp/server ./examples/server
#   BENCHTABLE=/tmp/benchtable internal/cmd/benchtable/callgrind.sh \
#       http://127.0.0.1:8090/api/v4/personal_access_tokens/self root.token /tmp/self.cg \
#       /tmp/server -addr 127.0.0.1:8090 -failed-auth-limit 0
#   callgrind_annotate /tmp/self.cg.1     # where they go
#
# The bare handler: the server command /tmp/benchtable -serve-bare ADDR.
# GOMAXPROCS=1 keeps the idle processor from spinning into the count, and
# valgrind needs Go's preemption signals off; cpu.rdtscp=off serves
# valgrind 3.19, which lacks the RDTSCP instruction of AMD's processors.
# valgrind also hides the SHA instructions from Go, which then hashes
# with AVX2: some 2,200 instructions a SHA-256 of a secret that the
# processor does in about 300.
set -euo pipefail
if [ $# -lt 4 ]; then
	echo "usage: $0 URL TOKEN_FILE OUT SERVER [ARG...]" >&2
	exit 2
fi
url=$1 tokens=$2 out=$3
shift 3
bench=${BENCHTABLE:-benchtable}
GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off \
	valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>"$out.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 240); do
	"$bench" -send "$url" -send-n 1 -token-file "$tokens" 2>/dev/null && break
	sleep 0.5
done
"$bench" -send "$url" -send-n 500 -token-file "$tokens"
callgrind_control -z $pid >/dev/null 2>&1
"$bench" -send "$url" -send-n 3000 -token-file "$tokens"
callgrind_control -d $pid >/dev/null 2>&1
total=$(callgrind_annotate "$out.1" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
echo "$((total / 3000)) instructions a request ($out.1)"
