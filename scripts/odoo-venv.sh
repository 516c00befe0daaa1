#!/usr/bin/env bash
# Create or complete the Odoo 19 virtualenv at $ODOO_VENV from the Odoo source's own pins.
#
# Odoo's requirements.txt pins, for Python 3.12, versions that install as wheels. psycopg2 is
# swapped for psycopg2-binary, which needs no libpq headers. python-ldap is left out because the
# addon does not use LDAP. The addon's own dependencies and the browser-test client come on top.
set -euo pipefail
ODOO_SOURCE=${ODOO_SOURCE:-/opt/odoo/19.0}
ODOO_VENV=${ODOO_VENV:-/opt/odoo/venv}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -x "$ODOO_VENV/bin/python" ]; then
    python=""
    # Odoo 19's pins target Python 3.12; a pyenv shim may exist without working, so each
    # candidate must actually run.
    for candidate in /root/.pyenv/versions/3.12*/bin/python3.12 python3.12 python3; do
        if "$candidate" --version >/dev/null 2>&1; then python=$candidate; break; fi
    done
    [ -n "$python" ] || { echo "No Python 3 interpreter found for the Odoo virtualenv." >&2; exit 1; }
    "$python" -m venv "$ODOO_VENV"
fi

stamp="$ODOO_VENV/.aliexpress-requirements"
wanted=$(cat "$ODOO_SOURCE/requirements.txt" "$ROOT/requirements.txt" | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
    echo "Odoo virtualenv is up to date."
    exit 0
fi
requirements=$(mktemp)
sed -e 's/^psycopg2==/psycopg2-binary==/' -e '/^python-ldap/d' \
    "$ODOO_SOURCE/requirements.txt" > "$requirements"
"$ODOO_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
"$ODOO_VENV/bin/pip" install --quiet --disable-pip-version-check websocket-client \
    pycountry phonenumbers
rm -f "$requirements"
echo "$wanted" > "$stamp"
