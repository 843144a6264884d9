#!/usr/bin/env bash
# Install the real OpenStack API services for the test tier into one virtualenv, from PyPI only:
# Keystone 30.0.0, Nova 33.0.2 (API only), Glance 33.0.0, Cinder 29.0.0 (API only),
# Neutron 29.0.0 (server, ML2 without agents), Placement 16.0.0, gunicorn,
# python-openstackclient.
# Every version is pinned by constraints.txt next to this script.
#
# Idempotent: a stamp in the venv records the hash of constraints.txt and the package list;
# a second run with the same inputs does nothing (well under a second). A cold install takes
# about 2 minutes. No root, apt, compiler or network other than PyPI. See lib.sh for the
# environment variables; everything goes to $REALCLOUD_DIR (default target/realcloud).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY="${PYTHON:-python3}"
PACKAGES=(keystone gunicorn nova glance cinder neutron pyroute2 openstack-placement
          python-openstackclient)
# neutron 29.0.0 does not declare pyroute2, but its DB models import it.
stamp="$R/venv/.scs-cert-installed"
want="$( (cat "$HERE/constraints.txt"; echo "${PACKAGES[*]}") | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$V/gunicorn" ]; then
  echo "realcloud: venv up to date ($R/venv)"
  exit 0
fi

ver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$ver" != 3.11 ]; then
  echo "realcloud: warning: $PY is Python $ver; constraints.txt was made for 3.11" >&2
fi
t0=$(now)
if [ ! -x "$V/python" ]; then
  "$PY" -m venv "$R/venv"
fi
rm -f "$stamp"
# One resolver run for everything; pip installs sequentially, which keeps the load modest.
"$V/pip" install --quiet --no-input --progress-bar off -c "$HERE/constraints.txt" \
  "${PACKAGES[@]}"
"$V/python" -c 'import keystone, nova, glance, cinder, neutron, placement, pyroute2, gunicorn'
echo "$want" > "$stamp"
echo "realcloud: installed into $R/venv in $(elapsed "$t0") s ($(du -sh "$R/venv" | cut -f1))"
