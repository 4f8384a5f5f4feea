#!/usr/bin/env bash
# Idempotent dev environment: .venv (Python 3.11 + requirements/dev.txt), the emulator package
# (editable), and .build/collections/ansible_collections/sailpoint/isc -> the checkout.
# Re-running is cheap: the venv is rebuilt only when requirements/dev.txt or the Python changes.
set -euo pipefail

# shellcheck source=hacking/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "${ISC_ROOT}"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

VENV="${ISC_ROOT}/.venv"
REQS="${ISC_ROOT}/requirements/dev.txt"
EMU="${ISC_ROOT}/tests/emulator"
LINK_PARENT="${ISC_ROOT}/.build/collections/ansible_collections/sailpoint"
LINK="${LINK_PARENT}/isc"

[ -f "${REQS}" ] || die "missing ${REQS}"
mkdir -p "${LINK_PARENT}"

# Several people (and their tools) share this tree: serialise setup runs.
exec 9>"${ISC_ROOT}/.build/setup.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi

PY311="$(isc_find_python 3.11)" || die "no usable Python 3.11 (with venv/ensurepip) found; install python3.11 and python3.11-venv"

# --- .venv ---------------------------------------------------------------------------------------
want_stamp="$(printf '%s\n%s\n' "$(isc_hash "${REQS}")" "$("${PY311}" -c 'import sys; print(sys.version)')" | sha256sum | cut -d' ' -f1)"
stamp_file="${VENV}/.isc-dev-stamp"
have_stamp="$(cat "${stamp_file}" 2>/dev/null || true)"

if [ ! -x "${VENV}/bin/python" ] || [ "${want_stamp}" != "${have_stamp}" ]; then
    if [ -d "${VENV}" ]; then
        say "requirements/dev.txt or Python changed: rebuilding .venv"
        rm -rf "${VENV}"
    else
        say "creating .venv with ${PY311}"
    fi
    "${PY311}" -m venv "${VENV}" || die "python -m venv failed"
    log="$(mktemp)"
    say "installing requirements/dev.txt (a few minutes the first time)"
    if ! "${VENV}/bin/python" -m pip install -q --disable-pip-version-check -r "${REQS}" >"${log}" 2>&1; then
        cat "${log}" >&2
        rm -f "${log}"
        rm -f "${stamp_file}"
        die "pip install -r requirements/dev.txt failed (output above)"
    fi
    rm -f "${log}"
    rm -f "${VENV}/.isc-emulator-stamp"
    printf '%s\n' "${want_stamp}" >"${stamp_file}"
fi

# --- emulator package (editable) -----------------------------------------------------------------
if [ -f "${EMU}/pyproject.toml" ]; then
    emu_stamp="$(isc_hash "${EMU}/pyproject.toml")"
    if [ "$(cat "${VENV}/.isc-emulator-stamp" 2>/dev/null || true)" != "${emu_stamp}" ] \
        || ! "${VENV}/bin/python" -c 'import isc_emulator' >/dev/null 2>&1; then
        say "installing tests/emulator (editable)"
        log="$(mktemp)"
        if ! "${VENV}/bin/python" -m pip install -q --disable-pip-version-check -e "${EMU}" >"${log}" 2>&1; then
            cat "${log}" >&2
            rm -f "${log}"
            die "pip install -e tests/emulator failed (output above)"
        fi
        rm -f "${log}"
        printf '%s\n' "${emu_stamp}" >"${VENV}/.isc-emulator-stamp"
    fi
else
    printf 'setup: WARNING: %s not found yet: emulator package not installed\n' "tests/emulator/pyproject.toml" >&2
fi

# --- collection symlink --------------------------------------------------------------------------
if [ -L "${LINK}" ]; then
    [ "$(readlink "${LINK}")" = "${ISC_ROOT}" ] || ln -sfn "${ISC_ROOT}" "${LINK}"
elif [ -e "${LINK}" ]; then
    die "${LINK} exists and is not a symlink; remove it"
else
    ln -s "${ISC_ROOT}" "${LINK}"
fi

say "ok (.venv: $("${VENV}/bin/python" -c 'import ansible, sys; print("Python %d.%d.%d, ansible-core %s" % (sys.version_info[:3] + (ansible.__version__,)))'))"
