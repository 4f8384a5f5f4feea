#!/usr/bin/env bash
# THE first README command: start the ISC emulator (seed "demo") and run playbooks/demo.yml against it.
# The play's output is condensed by hacking/callback_plugins/isc_demo.py (messages, warnings, failures, recap);
# ANSIBLE_STDOUT_CALLBACK=default shows every task. tests/integration/test_demo.py holds it to 60 lines.
set -euo pipefail

# shellcheck source=hacking/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "${ISC_ROOT}"

die() { printf 'demo: ERROR: %s\n' "$*" >&2; exit 1; }
usage() {
    cat <<'EOT'
usage: bash hacking/demo.sh [--keep-emulator] [--port N] [ansible-playbook options...]

Sets up .venv (hacking/setup.sh), starts the ISC emulator with a demo tenant on a loopback port, runs
playbooks/demo.yml against it (preview, clear, run again), then stops the emulator.

  --keep-emulator   leave the emulator running afterwards and print the SAIL_* exports to use it
  --port N          the emulator's port (default: a free one)
  -h, --help        this help

Other options go to ansible-playbook (for example -v). ANSIBLE_STDOUT_CALLBACK=default shows every task.
EOT
}

keep=0
port_arg=0
args=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --keep-emulator) keep=1 ;;
        --port)
            [ "$#" -ge 2 ] || die "--port needs a number"
            port_arg="$2"
            shift
            ;;
        --port=*) port_arg="${1#--port=}" ;;
        -h | --help) usage; exit 0 ;;
        *) args+=("$1") ;;
    esac
    shift
done
[[ "${port_arg}" =~ ^[0-9]+$ ]] || die "--port takes a number, not ${port_arg}"

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
        echo "demo: stopped the emulator (pid ${EMU_PID})"
    fi
    EMU_PID=""
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
"${launcher[@]}" python -m isc_emulator --port "${port_arg}" --seed demo --port-file "${PORT_FILE}" >"${EMU_LOG}" 2>&1 </dev/null &
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

# Only this run gets the short output; ANSIBLE_STDOUT_CALLBACK set by the caller wins.
ANSIBLE_CALLBACK_PLUGINS="${ISC_ROOT}/hacking/callback_plugins" \
    ANSIBLE_STDOUT_CALLBACK="${ANSIBLE_STDOUT_CALLBACK:-isc_demo}" \
    ansible-playbook "${PLAYBOOK}" "${args[@]}"

adhoc_commands() {
    # usage: adhoc_commands BASE_URL
    cat <<EOT
    . hacking/env.sh
    export SAIL_BASE_URL=$1 SAIL_CLIENT_ID=${SAIL_CLIENT_ID} SAIL_CLIENT_SECRET=${SAIL_CLIENT_SECRET}
    ansible localhost -m sailpoint.isc.task_status_info -a 'pending=true count_only=true'
    ansible localhost -m sailpoint.isc.task_status_info -a 'filters={"completionStatus":"ERROR"} fields=uniqueName,completed limit=3'
    ansible localhost -m debug -a "msg={{ query('sailpoint.isc.pending_tasks') | map(attribute='uniqueName') }}"
EOT
}

echo
if [ "${keep}" = 1 ]; then
    # Hand the emulator over to the user; RUN_DIR (with its log) is left in place.
    echo "demo: the emulator is still running at ${SAIL_BASE_URL} (pid ${EMU_PID}, log ${EMU_LOG})."
    echo "Next steps, from another shell in this directory:"
    adhoc_commands "${SAIL_BASE_URL}"
    cat <<EOT
  Run the demo again on a fresh tenant:
    curl -s -X POST ${SAIL_BASE_URL}/_emulator/reset -d '{"seed": "demo"}' && ansible-playbook playbooks/demo.yml
  Stop the emulator: kill ${EMU_PID}
EOT
else
    stop_emulator
    echo "Next steps: keep the emulator running with"
    echo "    bash hacking/demo.sh --keep-emulator --port 8080"
    echo "  and try these ad hoc commands against it from another shell in this directory:"
    adhoc_commands "http://127.0.0.1:8080"
fi
