#!/usr/bin/env bash
# Start a real Kubernetes API server for the test tier: etcd (Debian's etcd-server 3.4) and
# kube-apiserver (build.sh's cached build of v1.20.2) on 127.0.0.1 only, state in
# $REALKUBE_DIR (default target/realkube). Ready in about 7 s; 0.2 s when both already run.
#
# Once per state directory (kept across restarts; RESET=1 wipes it): a CA (openssl, EC P-256,
# 30 days, renewed when less than a day is left), the serving certificate (127.0.0.1,
# localhost), a client certificate for the user `scs-certifier` (group `scs-cert-readers`),
# random tokens, a service-account key. Then:
#   pki/tokens.csv      static tokens: admin (system:masters), certifier-token and
#                       certifier-exec (both in scs-cert-readers)
#   RBAC                ClusterRole scs-cert-reader (get/list/watch nodes, get /version,
#                       /healthz, /readyz) bound to the group scs-cert-readers
#   kubeconfig-cert.yaml    client certificate and key files, the CA
#   kubeconfig-token.yaml   the certifier token
#   kubeconfig-exec.yaml    exec plugin exec-plugin.sh (client.authentication.k8s.io/v1),
#                           which prints an ExecCredential with the exec user's token
#   kubeconfig-admin.yaml   the admin token (tests create Node objects with it)
#   kube.json           server, CA, kubeconfigs and the credentials (for the Rust tests)
#   log/audit.log       the API server's audit log (level Metadata: user, verb, URI, status;
#                       never a credential), which the tests read to see who asked for what
# Processes run under setsid with their pid in run/{etcd,kube-apiserver}.pid; stop.sh ends
# them. A port held by something else is refused.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ "${RESET:-0}" = 1 ]; then
  bash "$HERE/stop.sh" >/dev/null || true
  rm -rf "$K/pki" "$K/etcd-data" "$K/log" "$K/run" "$K"/kubeconfig-*.yaml "$K/kube.json" \
         "$K/exec-plugin.sh" "$K/exec-token"
fi
[ -x "$BIN" ] || { echo "realkube: no kube-apiserver at $BIN; run tests/realkube/build.sh" >&2; exit 1; }
command -v etcd >/dev/null 2>&1 || { echo "realkube: no etcd; run tests/realkube/install.sh" >&2; exit 1; }
mkdir -p "$K/run" "$K/log" "$K/pki" "$K/etcd-data"
chmod 700 "$K/pki" "$K/etcd-data"
SERVER="https://$HOST:$APISERVER_PORT"
P="$K/pki"
t0=$(now)

# ---- PKI and tokens (kept across restarts)
ssl() { openssl "$@" 2>/dev/null; }
if [ ! -f "$P/ca.pem" ] || ! openssl x509 -in "$P/ca.pem" -noout -checkend 86400 >/dev/null 2>&1 \
   || ! openssl x509 -in "$P/server.pem" -noout -checkend 86400 >/dev/null 2>&1 \
   || ! openssl x509 -in "$P/client.pem" -noout -checkend 86400 >/dev/null 2>&1; then
  cat > "$P/pki.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = scs-cert realkube
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
  EC=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  (cd "$P"
   ssl req -x509 -config pki.cnf -extensions ca "${EC[@]}" -keyout ca.key -out ca.pem -days 30 \
       -subj /CN=scs-cert-realkube-CA
   ssl req -new -config pki.cnf "${EC[@]}" -keyout server.key -out server.csr -subj /CN=kube-apiserver
   ssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 \
       -extfile pki.cnf -extensions server -out server.pem
   ssl req -new -config pki.cnf "${EC[@]}" -keyout client.key -out client.csr \
       -subj "/O=scs-cert-readers/CN=scs-certifier"
   ssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 \
       -extfile pki.cnf -extensions client -out client.pem
   rm -f server.csr client.csr
   chmod 600 ./*.key)
  echo "realkube: new CA, serving and client certificates in $P"
fi
cat > "$P/audit-policy.yaml" <<AUDIT
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
AUDIT
[ -f "$P/sa.key" ] || { ssl genrsa -out "$P/sa.key" 2048; chmod 600 "$P/sa.key"; }
if [ ! -f "$P/tokens.csv" ]; then
  ADMIN_TOKEN="realkube-admin-$(openssl rand -hex 16)"
  CERTIFIER_TOKEN="realkube-certifier-$(openssl rand -hex 16)"
  EXEC_TOKEN="realkube-exec-$(openssl rand -hex 16)"
  umask 077
  cat > "$P/tokens.csv" <<CSV
$ADMIN_TOKEN,realkube-admin,realkube-admin,system:masters
$CERTIFIER_TOKEN,scs-certifier-token,scs-certifier-token,scs-cert-readers
$EXEC_TOKEN,scs-certifier-exec,scs-certifier-exec,scs-cert-readers
CSV
  umask 022
fi
ADMIN_TOKEN=$(sed -n 1p "$P/tokens.csv" | cut -d, -f1)
CERTIFIER_TOKEN=$(sed -n 2p "$P/tokens.csv" | cut -d, -f1)
EXEC_TOKEN=$(sed -n 3p "$P/tokens.csv" | cut -d, -f1)

# ---- ports: ours, free, or refused
port_busy() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }
ready() {
  [ "$(printf 'header = "Authorization: Bearer %s"\n' "$ADMIN_TOKEN" \
        | curl -s -K - -m 5 --cacert "$P/ca.pem" "$SERVER/readyz" 2>/dev/null)" = ok ]
}

# ---- etcd
if [ -n "$(our_pid etcd)" ]; then
  :
else
  for p in "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT"; do
    if port_busy "$p"; then echo "realkube: port $p is held by another process" >&2; exit 1; fi
  done
  setsid etcd --name realkube --data-dir "$K/etcd-data" \
    --listen-client-urls "http://$HOST:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://$HOST:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
    --initial-cluster "realkube=http://$HOST:$ETCD_PEER_PORT" \
    --listen-metrics-urls "" --quota-backend-bytes $((512 << 20)) \
    > "$K/log/etcd.log" 2>&1 < /dev/null &
  echo $! > "$K/run/etcd.pid"
  for _ in $(seq 1 150); do
    curl -sf -m 2 "http://$HOST:$ETCD_CLIENT_PORT/health" >/dev/null 2>&1 && break
    [ -n "$(our_pid etcd)" ] || { tail -20 "$K/log/etcd.log" >&2; echo "realkube: etcd exited" >&2; exit 1; }
    sleep 0.1
  done
fi

# ---- kube-apiserver
if [ -n "$(our_pid kube-apiserver)" ]; then
  :
else
  if port_busy "$APISERVER_PORT"; then
    echo "realkube: port $APISERVER_PORT is held by another process" >&2; exit 1
  fi
  setsid "$BIN" --etcd-servers="http://$HOST:$ETCD_CLIENT_PORT" \
    --bind-address="$HOST" --advertise-address="$HOST" --secure-port="$APISERVER_PORT" \
    --insecure-port=0 \
    --tls-cert-file="$P/server.pem" --tls-private-key-file="$P/server.key" \
    --client-ca-file="$P/ca.pem" --token-auth-file="$P/tokens.csv" \
    --anonymous-auth=false --authorization-mode=RBAC \
    --service-cluster-ip-range=10.96.0.0/16 \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$P/sa.key" --service-account-signing-key-file="$P/sa.key" \
    --enable-priority-and-fairness=false --profiling=false \
    --audit-policy-file="$P/audit-policy.yaml" --audit-log-path="$K/log/audit.log" \
    --audit-log-maxsize=200 --audit-log-maxbackup=1 \
    --cert-dir="$K/run/cert-dir" \
    > "$K/log/kube-apiserver.log" 2>&1 < /dev/null &
  echo $! > "$K/run/kube-apiserver.pid"
fi
for _ in $(seq 1 600); do
  ready && break
  [ -n "$(our_pid kube-apiserver)" ] || {
    tail -20 "$K/log/kube-apiserver.log" >&2; echo "realkube: kube-apiserver exited" >&2; exit 1; }
  sleep 0.2
done
ready || { echo "realkube: kube-apiserver not ready after 120 s ($K/log/kube-apiserver.log)" >&2; exit 1; }

# ---- RBAC for the certifier users (idempotent: 409 AlreadyExists is fine)
api_post() {
  local code
  # the token through curl's config on stdin, never on a command line (ps shows those)
  code=$(printf 'header = "Authorization: Bearer %s"\n' "$ADMIN_TOKEN" \
    | curl -s -K - -o "$K/log/last-post.json" -w '%{http_code}' -m 10 --cacert "$P/ca.pem" \
      -H 'Content-Type: application/json' -X POST --data-binary "$2" "$SERVER$1" || true)
  case "$code" in
    201|409) ;;
    *) echo "realkube: POST $1: HTTP $code: $(head -c 300 "$K/log/last-post.json")" >&2; exit 1 ;;
  esac
}
api_post /apis/rbac.authorization.k8s.io/v1/clusterroles '{
  "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
  "metadata": {"name": "scs-cert-reader"},
  "rules": [
    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
    {"nonResourceURLs": ["/version", "/version/", "/healthz", "/readyz"], "verbs": ["get"]}
  ]}'
api_post /apis/rbac.authorization.k8s.io/v1/clusterrolebindings '{
  "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
  "metadata": {"name": "scs-cert-reader"},
  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "scs-cert-reader"},
  "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "scs-cert-readers"}]}'

# ---- kubeconfigs and the exec plugin
umask 077
printf '%s\n' "$EXEC_TOKEN" > "$K/exec-token"
cat > "$K/exec-plugin.sh" <<PLUGIN
#!/bin/sh
# client.authentication.k8s.io/v1 exec credential plugin of the realkube tier: prints an
# ExecCredential with the token of the user scs-certifier-exec (valid for an hour).
set -e
token=\$(cat "$K/exec-token")
exp=\$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' "\$token" "\$exp"
PLUGIN
chmod 700 "$K/exec-plugin.sh"
kubeconfig() { # NAME USER-MAPPING
  cat > "$K/kubeconfig-$1.yaml" <<KC
apiVersion: v1
kind: Config
current-context: realkube
clusters:
- name: realkube
  cluster:
    server: $SERVER
    certificate-authority: $P/ca.pem
contexts:
- name: realkube
  context: {cluster: realkube, user: $1}
users:
- name: $1
  user:
$2
KC
}
kubeconfig cert "    client-certificate: $P/client.pem
    client-key: $P/client.key"
kubeconfig token "    token: $CERTIFIER_TOKEN"
kubeconfig exec "    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $K/exec-plugin.sh
      interactiveMode: Never"
kubeconfig admin "    token: $ADMIN_TOKEN"
cat > "$K/kube.json" <<JSON
{
  "server": "$SERVER",
  "ca": "$P/ca.pem",
  "kubeconfigs": {
    "cert": "$K/kubeconfig-cert.yaml",
    "token": "$K/kubeconfig-token.yaml",
    "exec": "$K/kubeconfig-exec.yaml",
    "admin": "$K/kubeconfig-admin.yaml"
  },
  "users": {"cert": "scs-certifier", "token": "scs-certifier-token", "exec": "scs-certifier-exec"},
  "secrets": {
    "admin_token": "$ADMIN_TOKEN",
    "certifier_token": "$CERTIFIER_TOKEN",
    "exec_token": "$EXEC_TOKEN",
    "client_key": "$P/client.key"
  },
  "version": "$("$BIN" --version | awk '{print $2}')"
}
JSON
umask 022
echo "realkube: kube-apiserver $("$BIN" --version | awk '{print $2}') ready at $SERVER after $(elapsed "$t0") s (kubeconfigs in $K)"
