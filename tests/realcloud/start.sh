#!/usr/bin/env bash
# Start a real, API-only OpenStack on 127.0.0.1 from the venv that install.sh made:
# Keystone, Nova API, Glance API, Cinder API, Neutron server (ML2, no agents) and Placement
# (which nova-api needs to delete a server that never left BUILD), each as one
# gunicorn master (+1 worker, 4 threads) whose PID goes to $REALCLOUD_DIR/run/<name>.pid.
# SQLite for every database, no message bus (oslo.messaging's in-memory `fake:/` driver), no
# compute, scheduler, conductor, volume service or agents: server and volume records are
# accepted and stay in BUILD / creating for ever.
#
# Idempotent: services already running (by pid file) are left alone, so a second start.sh
# costs a second. The first start creates configs, databases, fernet keys, the service users
# and a default catalog (about a minute); later starts reuse them. RESET=1 wipes the state
# (not the venv) first. Refuses to start a service whose port another process holds.
#
# Writes $REALCLOUD_DIR/cloud.json (addresses, admin credentials, database paths; read by
# realcloud.py and tests/realcloud.rs) and $REALCLOUD_DIR/clouds.yaml (cloud "realcloud-admin").
# Content (users, flavors, images, ...) comes from `realcloud.py seed FIXTURE`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$V/gunicorn" ] || { echo "realcloud: no venv in $R/venv; run tests/realcloud/install.sh" >&2; exit 1; }

if [ "${RESET:-0}" = 1 ]; then
  "$HERE/stop.sh"
  rm -rf "$R/etc" "$R/data" "$R/log" "$R/run" "$R/wsgi" "$R/tmp"
fi
mkdir -p "$R"/{etc/keystone,etc/nova,etc/glance,etc/cinder,etc/neutron/plugins/ml2,etc/placement,data,log,run,wsgi,tmp}
mkdir -p "$R"/data/{nova,locks,glance/images,glance/staging,glance/tasks,cinder,neutron}
cp "$HERE"/wsgi/*.py "$R/wsgi/"

D="$R/data"
KS="http://$HOST:$KEYSTONE_PORT"

# ------------------------------------------------------------------------------ configs
# Written on every start (cheap, and a changed script takes effect after a restart).
authtoken() {  # [keystone_authtoken] of a service user
  cat <<EOF
[keystone_authtoken]
www_authenticate_uri = $KS
auth_url = $KS
auth_type = password
username = $1
password = $PASS
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
# validate tokens at the public identity endpoint: every fixture's catalog lists identity
# as public, not all as internal, and a service keeps the catalog of its first service
# token, so a restart after seeding such a fixture would leave it unable to validate tokens
interface = public
EOF
}

cat > "$R/etc/keystone/keystone.conf" <<EOF
[DEFAULT]
log_file = $R/log/keystone.log
[database]
connection = sqlite:///$D/keystone.sqlite
[token]
provider = fernet
[fernet_tokens]
key_repository = $R/etc/keystone/fernet-keys
[fernet_receipts]
key_repository = $R/etc/keystone/fernet-keys
[credential]
key_repository = $R/etc/keystone/credential-keys
[identity]
# bcrypt's lowest cost: ~30 ms per password auth instead of ~0.5 s on two busy cores
password_hash_rounds = 4
[cache]
# Without it every token validation costs ~300 SQLite queries (0.3-0.9 s per request).
# In-process memory cache: safe with one keystone process, and every change here goes
# through keystone's API (which invalidates it); keystone-manage edits while keystone runs
# would not be seen until a restart.
enabled = true
backend = dogpile.cache.memory
[oslo_concurrency]
lock_path = $D/locks
EOF

cp "$R/venv/etc/nova/api-paste.ini" "$R/etc/nova/api-paste.ini"
{ cat <<EOF
[DEFAULT]
log_file = $R/log/nova-api.log
transport_url = fake:/
my_ip = $HOST
host = localhost
state_path = $D/nova
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = $R/etc/nova/api-paste.ini
[api_database]
connection = sqlite:///$D/nova_api.sqlite
[database]
connection = sqlite:///$D/nova.sqlite
[oslo_concurrency]
lock_path = $D/locks
[neutron]
# nova-api validates the networks of a new server as itself (a user token is not enough)
auth_type = password
auth_url = $KS
username = nova
password = $PASS
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
[placement]
# the real Placement, whatever the seeded catalog says about placement
auth_type = password
auth_url = $KS
username = nova
password = $PASS
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
endpoint_override = http://$HOST:$PLACEMENT_PORT
[cinder]
os_region_name = RegionOne
[glance]
region_name = RegionOne
EOF
authtoken nova; } > "$R/etc/nova/nova.conf"

cp "$R/venv/etc/glance/glance-api-paste.ini" "$R/etc/glance/"
{ cat <<EOF
[DEFAULT]
log_file = $R/log/glance-api.log
enabled_backends = fs:file
worker_self_reference_url = http://$HOST:$GLANCE_PORT
bind_host = $HOST
[database]
connection = sqlite:///$D/glance.sqlite
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $D/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $D/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $D/glance/tasks
[paste_deploy]
flavor = keystone
[oslo_concurrency]
lock_path = $D/locks
EOF
authtoken glance; } > "$R/etc/glance/glance-api.conf"

cp "$R/venv/etc/cinder/api-paste.ini" "$R/venv/etc/cinder/resource_filters.json" "$R/etc/cinder/"
{ cat <<EOF
[DEFAULT]
log_file = $R/log/cinder-api.log
transport_url = fake:/
auth_strategy = keystone
api_paste_config = $R/etc/cinder/api-paste.ini
resource_query_filters_file = $R/etc/cinder/resource_filters.json
state_path = $D/cinder
my_ip = $HOST
host = localhost
osapi_volume_listen = $HOST
[database]
connection = sqlite:///$D/cinder.sqlite
[oslo_concurrency]
lock_path = $D/locks
[coordination]
backend_url = file://$D/cinder/coordination
EOF
authtoken cinder; } > "$R/etc/cinder/cinder.conf"

cp "$R/venv/etc/neutron/api-paste.ini" "$R/etc/neutron/"
{ cat <<EOF
[DEFAULT]
log_file = $R/log/neutron-api.log
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = fake:/
bind_host = $HOST
api_paste_config = $R/etc/neutron/api-paste.ini
state_path = $D/neutron
host = localhost
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
[database]
connection = sqlite:///$D/neutron.sqlite
[oslo_concurrency]
lock_path = $D/locks
EOF
authtoken neutron; } > "$R/etc/neutron/neutron.conf"
# openvswitch without agents keeps the OVN default (and its OVSDB) out
cat > "$R/etc/neutron/plugins/ml2/ml2_conf.ini" <<EOF
[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
mechanism_drivers = openvswitch
extension_drivers = port_security
[ml2_type_flat]
flat_networks = public
[ml2_type_vxlan]
vni_ranges = 1:1000
[securitygroup]
enable_security_group = true
EOF

{ cat <<EOF
[DEFAULT]
log_file = $R/log/placement-api.log
[api]
auth_strategy = keystone
[placement_database]
connection = sqlite:///$D/placement.sqlite
[oslo_concurrency]
lock_path = $D/locks
EOF
authtoken placement; } > "$R/etc/placement/placement.conf"

cat > "$R/clouds.yaml" <<EOF
clouds:
  realcloud-admin:
    auth:
      auth_url: $KS/v3
      username: admin
      password: $PASS
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
EOF

cat > "$R/cloud.json" <<EOF
{
  "auth_url": "$KS/v3",
  "region": "RegionOne",
  "admin": {"username": "admin", "password": "$PASS", "project_name": "admin"},
  "endpoints": {
    "identity": "$KS/v3",
    "compute": "http://$HOST:$NOVA_PORT/v2.1",
    "image": "http://$HOST:$GLANCE_PORT",
    "block-storage": "http://$HOST:$CINDER_PORT/v3/%(project_id)s",
    "network": "http://$HOST:$NEUTRON_PORT",
    "placement": "http://$HOST:$PLACEMENT_PORT"
  },
  "sqlite": {
    "nova_api": "$D/nova_api.sqlite",
    "glance": "$D/glance.sqlite"
  }
}
EOF

# ------------------------------------------------------------------------------ databases
# Each database once (marker data/.db-NAME); independent groups run in parallel (every
# *-manage start costs seconds of Python imports).
KM=("$V/keystone-manage" --config-file "$R/etc/keystone/keystone.conf")
NM=("$V/nova-manage" --config-file "$R/etc/nova/nova.conf")
init_keystone() {
  rm -f "$D/keystone.sqlite" "$D/.bootstrapped"
  "${KM[@]}" db_sync
  "${KM[@]}" fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
  "${KM[@]}" credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
  "${KM[@]}" bootstrap --bootstrap-password "$PASS" \
    --bootstrap-username admin --bootstrap-project-name admin \
    --bootstrap-role-name admin --bootstrap-service-name keystone \
    --bootstrap-region-id RegionOne \
    --bootstrap-admin-url "$KS/v3" --bootstrap-internal-url "$KS/v3" \
    --bootstrap-public-url "$KS/v3"
}
init_nova() {
  rm -f "$D"/nova_api.sqlite "$D"/nova_cell0.sqlite "$D"/nova.sqlite
  "${NM[@]}" api_db sync
  "${NM[@]}" cell_v2 map_cell0 --database_connection "sqlite:///$D/nova_cell0.sqlite"
  "${NM[@]}" db sync
  "${NM[@]}" cell_v2 create_cell --name cell1
}
init_glance() {
  rm -f "$D/glance.sqlite"
  "$V/glance-manage" --config-file "$R/etc/glance/glance-api.conf" db_sync
}
init_cinder() {
  rm -f "$D/cinder.sqlite"
  "$V/cinder-manage" --config-file "$R/etc/cinder/cinder.conf" db sync
}
init_placement() {
  rm -f "$D/placement.sqlite"
  "$V/placement-manage" --config-file "$R/etc/placement/placement.conf" db sync
}
init_neutron() {
  # Neutron's migrations ALTER constraints, which SQLite cannot: schema from the models.
  rm -f "$D/neutron.sqlite"
  "$V/python" "$HERE/neutron_schema.py" "sqlite:///$D/neutron.sqlite"
  "$V/neutron-db-manage" --config-file "$R/etc/neutron/neutron.conf" \
    --config-file "$R/etc/neutron/plugins/ml2/ml2_conf.ini" stamp heads
}
init_group() {  # init_group NAME...: each database whose marker is missing, in order
  local n
  for n in "$@"; do
    [ -f "$D/.db-$n" ] && continue
    ( set -e; "init_$n" ) > "$R/log/init-$n.log" 2>&1 || return 1
    touch "$D/.db-$n"
  done
}
t0=$(now)
pids=()
init_group keystone & pids+=($!)
init_group nova & pids+=($!)
init_group glance cinder placement neutron & pids+=($!)
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
if [ $fail = 1 ]; then
  echo "realcloud: database init failed; see $R/log/init-*.log" >&2
  tail -n 5 "$R"/log/init-*.log >&2
  exit 1
fi
[ "$(elapsed "$t0" | cut -d. -f1)" -ge 2 ] && echo "realcloud: databases initialised in $(elapsed "$t0") s"

# ------------------------------------------------------------------------------ servers
export OS_KEYSTONE_CONFIG_FILES="$R/etc/keystone/keystone.conf"
export OS_NOVA_CONFIG_DIR="$R/etc/nova"
export OS_NOVA_CONFIG_FILES="api-paste.ini;nova.conf"  # nova takes its paste pipeline from the 1st
export OS_GLANCE_CONFIG_DIR="$R/etc/glance"
export CINDER_CONF="$R/etc/cinder/cinder.conf"
export OS_NEUTRON_CONFIG_DIR="$R/etc/neutron"
export OS_NEUTRON_CONFIG_FILES="neutron.conf;plugins/ml2/ml2_conf.ini"
export OS_PLACEMENT_CONFIG_DIR="$R/etc/placement"

start_svc() {  # start_svc NAME MODULE: start unless already running
  local name=$1 app=$2 port pidf="$R/run/$1.pid"
  port=$(port_of "$name")
  if [ -n "$(our_pid "$name")" ]; then
    return 0
  fi
  rm -f "$pidf"
  if answers "$port"; then
    echo "realcloud: port $port is held by another process; not starting $name" >&2
    exit 1
  fi
  # setsid: the servers must not die with the shell (or cargo) that started them
  setsid "$V/gunicorn" --no-control-socket --chdir "$R/wsgi" \
    --bind "$HOST:$port" --workers 1 --threads 4 --timeout 120 --graceful-timeout 5 \
    --pid "$pidf" --error-logfile "$R/log/$name-gunicorn.log" \
    "$app" > "$R/log/$name.out" 2>&1 < /dev/null &
  echo $! > "$R/run/$name.launch"
}

wait_svc() {  # wait_svc NAME PATH: until it answers (any HTTP status), at most 180 s
  local name=$1 port t0
  port=$(port_of "$name")
  t0=$(now)
  for _ in $(seq 1 1800); do
    if answers "$port" && [ -n "$(our_pid "$name")" ]; then
      return 0
    fi
    if [ -f "$R/run/$name.launch" ] && ! kill -0 "$(cat "$R/run/$name.launch")" 2>/dev/null; then
      break  # gunicorn exited
    fi
    sleep 0.1
  done
  echo "realcloud: $name did not come up on port $port; last log lines:" >&2
  tail -20 "$R/log/$name-gunicorn.log" "$R/log/$name.out" >&2 || true
  return 1
}

t0=$(now)
start_svc keystone keystone_wsgi:application
wait_svc keystone
# service users on every start (idempotent, ~1 s); the default catalog only the first time
# (later a seeded fixture owns the catalog)
catalog=()
[ -f "$D/.bootstrapped" ] || catalog=(--catalog)
"$V/python" "$HERE/realcloud.py" bootstrap "${catalog[@]}" > "$R/log/bootstrap.log" 2>&1 \
  || { cat "$R/log/bootstrap.log" >&2; exit 1; }
touch "$D/.bootstrapped"
start_svc nova-api nova_api_wsgi:application
start_svc glance-api glance_api_wsgi:application
start_svc cinder-api cinder_api_wsgi:application
start_svc neutron-api neutron_api_wsgi:application
start_svc placement-api placement_api_wsgi:application
for s in nova-api glance-api cinder-api neutron-api placement-api; do wait_svc "$s"; done
rm -f "$R"/run/*.launch
echo "realcloud: up in $(elapsed "$t0") s (keystone $KS/v3); state in $R"
