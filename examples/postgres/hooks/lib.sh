# Shared by the hooks. sroll runs each hook in the member's container, in the
# working directory where the pod's volume is; PostgreSQL's files live there
# in pg/ (data/ and the server's log).
set -eu

PATH=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1):$PATH
PGDATA=$PWD/pg/data
ME=$HOSTNAME # the pod's name: pg-0, pg-1, ...

# Every member listens on its own port, PG_PORT_BASE (5432) + its ordinal:
# where pods share the host's network (the local cluster) they must.
port_of() { echo $((${PG_PORT_BASE:-5432} + ${1##*-})); }
PORT=$(port_of "$ME")

# PostgreSQL refuses to run as root: as root, its programs run as postgres.
run() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

sql() { run psql -X -qAt -p "$PORT" -d postgres -c "$1"; }

running() { run pg_ctl status -D "$PGDATA" >/dev/null 2>&1; }

# conninfo ADDRESS: the connection to the member sroll names by its address,
# {pod}.{service}.{namespace}.svc; PG_HOST replaces the address where such
# names do not resolve (the local cluster).
conninfo() {
	echo "host=${PG_HOST:-$1} port=$(port_of "${1%%.*}") user=postgres application_name=$ME"
}

# start_standby CONNINFO: starts the server as a standby streaming from
# CONNINFO; an empty CONNINFO follows no one (it replays the WAL it has).
start_standby() {
	run touch "$PGDATA/standby.signal"
	start "-c primary_conninfo='$1'"
}

# start [OPTIONS]: starts the server on this member's port; the port and the
# primary are given on its command line, never in the configuration files a
# standby copies from its primary.
start() {
	run pg_ctl start -w -t 120 -D "$PGDATA" -l "$PWD/pg/log" -o "-p $PORT ${1:-}" >/dev/null
}

# init: day 1, a new database, open to the other members (trust: an example;
# use scram-sha-256 with a password from a Secret for real).
init() {
	mkdir -p pg
	[ "$(id -u)" != 0 ] || chown postgres: pg
	run initdb -D "$PGDATA" -U postgres --auth=trust --data-checksums >/dev/null
	run sh -c "cat >> '$PGDATA/postgresql.conf'" <<-CONF
		listen_addresses = '*'
		# A standby that was down catches up from the WAL the primary keeps.
		wal_keep_size = '512MB'
	CONF
	run sh -c "cat >> '$PGDATA/pg_hba.conf'" <<-HBA
		host all all all trust
		host replication all all trust
	HBA
}
