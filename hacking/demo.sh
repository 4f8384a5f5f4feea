#!/usr/bin/env bash
# THE first README command: start the ISC emulator (seed "demo") and run playbooks/demo.yml against it.
#
# usage: hacking/demo.sh [--keep-emulator] [ansible-playbook args...]
#   --keep-emulator   leave the emulator running afterwards and print how to use it
set -euo pipefail

# shellcheck source=hacking/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "${ISC_ROOT}"

die() { printf 'demo: ERROR: %s\n' "$*" >&2; exit 1; }

keep=0
args=()
for arg in "$@"; do
    case "${arg}" in
        --keep-emulator) keep=1 ;;
        -h | --help) sed -n '2,5p' "$0"; exit 0 ;;
        *) args+=("${arg}") ;;
    esac
done

PLAYBOOK="${ISC_ROOT}/playbooks/demo.yml"
[ -f "${PLAYBOOK}" ] || die "playbooks/demo.yml does not exist yet"

bash "${ISC_ROOT}/hacking/setup.sh"
python -c 'import isc_emulator' 2>/dev/null || die "the emulator package (tests/emulator) is not installed; see hacking/setup.sh output"

RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/isc-demo.XXXXXX")"
PORT_FILE="${RUN_DIR}/port"
EMU_LOG="${RUN_DIR}/emulator.log"
EMU_PID=""

stop_emulator() {
    if [ -n "${EMU_PID}" ] && kill -0 "${EMU_PID}" 2>/dev/null; then
        kill -TERM "${EMU_PID}" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "${EMU_PID}" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "${EMU_PID}" 2>/dev/null || true
        wait "${EMU_PID}" 2>/dev/null || true
    fi
    rm -rf "${RUN_DIR}"
}
on_exit() {
    local rc=$?
    if [ "${keep}" = 1 ] && [ "${rc}" -eq 0 ]; then
        return
    fi
    stop_emulator
    exit "${rc}"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

launcher=()
if [ "${keep}" = 1 ] && command -v setsid >/dev/null 2>&1; then
    launcher=(setsid)   # its own session: survives this terminal closing
fi
"${launcher[@]}" python -m isc_emulator --port 0 --seed demo --port-file "${PORT_FILE}" >"${EMU_LOG}" 2>&1 </dev/null &
EMU_PID=$!

port=""
for _ in $(seq 100); do
    if ! kill -0 "${EMU_PID}" 2>/dev/null; then
        cat "${EMU_LOG}" >&2
        die "the emulator exited before it was ready (log above)"
    fi
    if [ -s "${PORT_FILE}" ]; then
        port="$(tr -cd '0-9' <"${PORT_FILE}")"
        if [ -n "${port}" ] && python - "${port}" <<'PY' 2>/dev/null; then
import json, sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:%s/_emulator/health" % sys.argv[1], timeout=2) as r:
    sys.exit(0 if json.load(r).get("status") == "ok" else 1)
PY
            break
        fi
    fi
    port=""
    sleep 0.1
done
[ -n "${port}" ] || { cat "${EMU_LOG}" >&2; die "the emulator did not become healthy within 10 s (log above)"; }

export SAIL_BASE_URL="http://127.0.0.1:${port}"
export SAIL_CLIENT_ID="pat-0001-demo-client"
export SAIL_CLIENT_SECRET="pat-demo-secret"
echo "demo: emulator (seed demo) at ${SAIL_BASE_URL}, pid ${EMU_PID}"

ansible-playbook "${PLAYBOOK}" "${args[@]}"

if [ "${keep}" = 1 ]; then
    # Hand the emulator over to the user; RUN_DIR (with its log) is left in place.
    cat <<EOT

demo: the emulator is still running (pid ${EMU_PID}, log ${EMU_LOG}).
Use it from another shell:
    . hacking/env.sh
    export SAIL_BASE_URL=${SAIL_BASE_URL} SAIL_CLIENT_ID=${SAIL_CLIENT_ID} SAIL_CLIENT_SECRET=${SAIL_CLIENT_SECRET}
    ansible localhost -m sailpoint.isc.task_status_info -a 'pending=true count_only=true'
    curl -s ${SAIL_BASE_URL}/_emulator/requests/summary
To run the demo again, first give the tenant back its stuck tasks:
    curl -s -X POST ${SAIL_BASE_URL}/_emulator/reset -d '{"seed": "demo"}'
    ansible-playbook playbooks/demo.yml
Stop it with:
    kill ${EMU_PID}
EOT
fi
