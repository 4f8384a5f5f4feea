#!/usr/bin/env bash
# ansible-test integration targets (tests/integration/targets) against the ISC emulator, offline, without Docker.
#
# usage: hacking/integration.sh [TARGET...] [ansible-test option...]
#   hacking/integration.sh                      every target
#   hacking/integration.sh task_status -vvv     one target (setup_emulator comes with it), more output
#
# Starts the emulator (python -m isc_emulator --validate-requests) on a free loopback port and gives it an OAuth
# client whose secret is new for this run; copies the collection (git-tracked and untracked-not-ignored files, as
# hacking/sanity.sh does) to a temp tree ending in ansible_collections/sailpoint/isc, where ansible-test must run;
# writes tests/integration/integration_config.yml there from its .template (ansible-test passes it to the targets as
# extra vars); runs `ansible-test integration --local` with .venv's ansible-core and Python; stops the emulator.
# Fails when a target fails, when no target ran, when a target did not reach its closing spec check (so it ran
# something else), and when the run's secret appears in ansible-test's output or any file under tests/output.
# env: ISC_KEEP_TREE=1  keep the temporary tree (path printed): tests/output holds the run's results
#      ISC_VERBOSE=1    show ansible-test's output as it runs (otherwise it is shown only when the run fails)
# Needs .venv (hacking/setup.sh, which hacking/test.sh runs first).
set -euo pipefail

# shellcheck source=hacking/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "${ISC_ROOT}"

say() { printf 'integration: %s\n' "$*"; }
die() { printf 'integration: ERROR: %s\n' "$*" >&2; exit 1; }

targets=()
options=()
for arg in "$@"; do
    case "${arg}" in
        -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
        -*) options+=("${arg}") ;;
        *)
            if [ ! -d "tests/integration/targets/${arg}" ]; then
                known=(tests/integration/targets/*/)
                known=("${known[@]#tests/integration/targets/}")
                die "no target ${arg} (targets: ${known[*]%/})"
            fi
            targets+=("${arg}")
            ;;
    esac
done

[ -x "${ISC_ROOT}/.venv/bin/ansible-test" ] || die ".venv/bin/ansible-test not found: run hacking/setup.sh first"
python -c 'import isc_emulator' 2>/dev/null || die "the ISC emulator is not installed in .venv: run hacking/setup.sh first"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/isc-integration.XXXXXX")"
EMULATOR_PID=""
cleanup() {
    if [ -n "${EMULATOR_PID}" ] && kill -0 "${EMULATOR_PID}" 2>/dev/null; then
        kill -TERM "${EMULATOR_PID}" 2>/dev/null || true
        wait "${EMULATOR_PID}" 2>/dev/null || true
    fi
    if [ "${ISC_KEEP_TREE:-0}" = 1 ]; then
        say "kept ${WORK}"
    else
        rm -rf "${WORK}"
    fi
}
trap cleanup EXIT
TREE="${WORK}/ansible_collections/sailpoint/isc"
mkdir -p "${TREE}"

isc_copy_collection "${TREE}"

# --- the emulator --------------------------------------------------------------------------------------------------
python -m isc_emulator --host 127.0.0.1 --port 0 --port-file "${WORK}/port" --seed empty --validate-requests \
    >"${WORK}/emulator.log" 2>&1 &
EMULATOR_PID=$!
for _ in $(seq 1 200); do
    [ -s "${WORK}/port" ] && break
    kill -0 "${EMULATOR_PID}" 2>/dev/null || { cat "${WORK}/emulator.log" >&2; die "the emulator exited before listening"; }
    sleep 0.1
done
[ -s "${WORK}/port" ] || die "the emulator did not write its port within 20 s"
URL="http://127.0.0.1:$(cat "${WORK}/port")"
CLIENT_ID="pat-0100-integration-client"
SECRET="isc-it-$(python -c 'import secrets; print(secrets.token_hex(16))')"
# A personal access token (user context: may PATCH) whose secret only this run knows, so a leak can be searched for.
python - "${URL}" "${CLIENT_ID}" "${SECRET}" <<'PY'
import json, sys, urllib.request
url, client_id, secret = sys.argv[1:]
body = json.dumps({"client_id": client_id, "secret": secret, "user_context": True}).encode()
request = urllib.request.Request(f"{url}/_emulator/clients", data=body, method="POST", headers={"Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=10).read()
PY
say "emulator at ${URL} (pid ${EMULATOR_PID})"

sed -e "s|@ISC_EMULATOR_URL@|${URL}|g" -e "s|@SAIL_CLIENT_ID@|${CLIENT_ID}|g" -e "s|@SAIL_CLIENT_SECRET@|${SECRET}|g" \
    tests/integration/integration_config.yml.template >"${TREE}/tests/integration/integration_config.yml"

# --- ansible-test --------------------------------------------------------------------------------------------------
log="${WORK}/ansible-test.log"
rc=0
start="${SECONDS}"
say "ansible-test integration --local ${options[*]} ${targets[*]:-(all targets)}"
# Quiet unless it fails (ISC_VERBOSE=1 shows it all): each target's every task would bury the result.
if [ "${ISC_VERBOSE:-0}" = 1 ]; then
    (cd "${TREE}" && ansible-test integration --local --color no "${options[@]}" "${targets[@]}") 2>&1 | tee "${log}" || rc=$?
else
    (cd "${TREE}" && ansible-test integration --local --color no "${options[@]}" "${targets[@]}") >"${log}" 2>&1 || rc=$?
fi
took=$((SECONDS - start))

# The config file holds the secret on purpose; anything else that does is a leak.
rm -f "${TREE}/tests/integration/integration_config.yml"
leaks="$(grep -rlF -- "${SECRET}" "${log}" "${TREE}/tests/output" 2>/dev/null || true)"
if [ -n "${leaks}" ]; then
    say "FAILED: the client secret appears in: ${leaks//$'\n'/, }"
    exit 1
fi
if [ "${rc}" -ne 0 ]; then
    [ "${ISC_VERBOSE:-0}" = 1 ] || cat "${log}"
    say "FAILED (exit ${rc}) after ${took} s"
    exit 1
fi
tested="$(grep -E '^Running [a-z0-9_]+ integration test role$' "${log}" | grep -vc '^Running setup_' || true)"
# Each target ends with setup_emulator's spec check; a target that never reached it ran something else (a collection
# role of the same name shadows a target: see tests/integration/targets/role_clear_stuck_tasks).
checked="$(grep -c '^TASK \[setup_emulator : Every request followed the vendor spec\]' "${log}" || true)"
[ "${tested}" -gt 0 ] || die "no integration target ran"
[ "${checked}" -eq "${tested}" ] || die "${tested} targets ran but ${checked} reached their closing spec check"
say "${tested} targets passed in ${took} s; every request followed the vendor spec; the secret appears nowhere in the output"
