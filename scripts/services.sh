# Sourced by scripts/test: starts the throwaway services the storage tests run against —
# PostgreSQL 15 (Debian's package, initdb into a temp dir, run as the `postgres` user on a
# random port) and an S3-protocol server (moto in server mode, from PyPI, with one
# bucket) — and exports where they are:
#   TETHER_TEST_POSTGRES_URL   a superuser URL (tests create one database per case)
#   TETHER_TEST_S3_URL         s3://tether-test, with AWS_ENDPOINT_URL, AWS_REGION,
#                              AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP
# Set TETHER_TEST_POSTGRES_URL, TETHER_TEST_CLICKHOUSE_URL and/or TETHER_TEST_S3_URL (with the
# AWS_* variables) before running scripts/test to use your own servers instead; then those
# are not started here.
# `stop_services` (called from scripts/test's exit trap) stops what was started.

services_dir="$(mktemp -d)"
pg_data=""
moto_pid=""
chdb_pid=""

stop_services() {
    if [ -n "$pg_data" ]; then
        runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
    fi
    for pid in "$moto_pid" "$chdb_pid"; do
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$services_dir"
}

free_port() {
    .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_postgres() {
    if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
        apt_install postgresql
    fi
    local port
    port="$(free_port)"
    pg_data="$services_dir/pg"
    mkdir -p "$pg_data"
    chown postgres "$services_dir" "$pg_data"
    runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D "$pg_data" -A trust -U tether >/dev/null
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$pg_data" -l "$services_dir/pg.log" -w \
        -o "-p $port -k $services_dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300" start >/dev/null
    export TETHER_TEST_POSTGRES_URL="postgres://tether@127.0.0.1:$port/postgres"
}

start_s3() {
    local port
    port="$(free_port)"
    .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$services_dir/moto.log" 2>&1 &
    moto_pid=$!
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true \
        AWS_ACCESS_KEY_ID=tether-test AWS_SECRET_ACCESS_KEY=tether-test-secret
    for _ in $(seq 1 100); do
        curl -sf "$AWS_ENDPOINT_URL/moto-api/" >/dev/null 2>&1 && break
        sleep 0.1
    done
    .venv/bin/python -c 'import boto3; boto3.client("s3").create_bucket(Bucket="tether-test")'
    export TETHER_TEST_S3_URL="s3://tether-test"
}

start_clickhouse() {
    .venv/bin/python tests/clickhouse/chdb_http.py "$services_dir/chdb" "$services_dir/chdb.port" \
        >"$services_dir/chdb.log" 2>&1 &
    chdb_pid=$!
    for _ in $(seq 1 300); do
        [ -s "$services_dir/chdb.port" ] && break
        kill -0 "$chdb_pid" 2>/dev/null || { cat "$services_dir/chdb.log"; return 1; }
        sleep 0.1
    done
    export TETHER_TEST_CLICKHOUSE_URL="http://127.0.0.1:$(cat "$services_dir/chdb.port")/"
}

[ -n "${TETHER_TEST_POSTGRES_URL:-}" ] || start_postgres
[ -n "${TETHER_TEST_CLICKHOUSE_URL:-}" ] || start_clickhouse
[ -n "${TETHER_TEST_S3_URL:-}" ] || start_s3
