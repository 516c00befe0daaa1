#!/usr/bin/env bash
# Run every test suite of the addon and fail on the first failing one.
#
#   bash scripts/test.sh            pure-Python suite, ruff, pylint-odoo, and the Odoo suite
#                                   when an Odoo 19 source is at $ODOO_SOURCE
#   bash scripts/test.sh --no-odoo  skip the Odoo suite even when Odoo is present
#
# Environment: ODOO_SOURCE (default /opt/odoo/19.0), ODOO_VENV (default /opt/odoo/venv),
# PYTHON (interpreter for the pure suite's virtualenv, default python3), TEST_DB (database
# created and dropped for the Odoo suite, default aliexpress_test).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ODOO_SOURCE=${ODOO_SOURCE:-/opt/odoo/19.0}
ODOO_VENV=${ODOO_VENV:-/opt/odoo/venv}
PYTHON=${PYTHON:-python3}
TEST_DB=${TEST_DB:-aliexpress_test}
RUN_ODOO=1
[ "${1:-}" = "--no-odoo" ] && RUN_ODOO=0

ran=()
skipped=()
current_step=""

step() { current_step=$*; printf '\n==== %s ====\n' "$*"; }
report_failure() {
    printf '\nFAILED: %s\n' "$current_step" >&2
    [ ${#ran[@]} -gt 0 ] && printf 'Suites that passed before it: %s\n' "${ran[*]}" >&2
}
trap 'report_failure' ERR

# --- Pure-Python suite, static checks -------------------------------------------------------
step "Python environment for the pure suite (.venv)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt

step "Pure-Python suite: pytest services/tests"
.venv/bin/python -m pytest services/tests -q -p no:cacheprovider
ran+=("pure-python (pytest)")

step "ruff"
.venv/bin/ruff check --no-cache .
ran+=("ruff")

step "pylint-odoo"
mapfile -t py_dirs < <(ls -d models wizards controllers tests services __manifest__.py __init__.py \
    2>/dev/null)
.venv/bin/pylint --rcfile=.pylintrc "${py_dirs[@]}"
ran+=("pylint-odoo")

# --- Odoo suite --------------------------------------------------------------------------------
if [ "$RUN_ODOO" = 1 ] && [ -f "$ODOO_SOURCE/odoo-bin" ]; then
    step "Odoo suite: install on a new database and run the post_install tests"
    [ -x "$ODOO_VENV/bin/python" ] || { echo "Odoo source found but no virtualenv at $ODOO_VENV:" \
        "run scripts/odoo-venv.sh (see \"Install in Odoo\" in README.md)." >&2; exit 1; }
    addons_dir=$(mktemp -d)
    trap 'rm -rf "$addons_dir"' EXIT
    ln -s "$ROOT" "$addons_dir/aliexpress_store_management"
    log=$(mktemp)
    dropdb --if-exists "$TEST_DB"
    set +e
    "$ODOO_VENV/bin/python" "$ODOO_SOURCE/odoo-bin" \
        --addons-path="$ODOO_SOURCE/addons,$ODOO_SOURCE/odoo/addons,$addons_dir" \
        -d "$TEST_DB" --db-filter="^${TEST_DB}\$" --http-interface=127.0.0.1 \
        --http-port="${ODOO_TEST_PORT:-8169}" --data-dir="$addons_dir/data" \
        -i aliexpress_store_management --test-enable \
        --test-tags /aliexpress_store_management --stop-after-init \
        --log-level=test 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    dropdb --if-exists "$TEST_DB"
    if [ "$rc" != 0 ]; then
        echo "Odoo suite FAILED (odoo-bin exit code $rc)" >&2
        exit 1
    fi
    if grep -qE " (ERROR|CRITICAL) " "$log"; then
        echo "Odoo suite FAILED: the log has ERROR or CRITICAL lines:" >&2
        grep -E " (ERROR|CRITICAL) " "$log" | head -20 >&2
        exit 1
    fi
    # A browser test that Odoo skips (no Chromium, no websocket-client) is a failure here.
    if grep -qiE "skip.*(chrom|browser|websocket)" "$log"; then
        echo "Odoo suite FAILED: a browser test was skipped:" >&2
        grep -iE "skip.*(chrom|browser|websocket)" "$log" | head -5 >&2
        exit 1
    fi
    summary=$(grep -E "[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests" "$log" | tail -1 || true)
    echo "Odoo suite summary: ${summary:-no summary line}"
    if ! grep -qE "of [1-9][0-9]* tests" <<<"$summary"; then
        echo "Odoo suite FAILED: no test ran." >&2
        exit 1
    fi
    ran+=("odoo (aliexpress_store_management: ${summary##*odoo.tests.result: })")
else
    skipped+=("odoo (no Odoo 19 source at $ODOO_SOURCE, or --no-odoo)")
fi

step "Summary"
echo "Suites run:"
printf '  - %s\n' "${ran[@]}"
if [ ${#skipped[@]} -gt 0 ]; then
    echo "Suites skipped:"
    printf '  - %s\n' "${skipped[@]}"
fi
echo "All suites that ran passed."
