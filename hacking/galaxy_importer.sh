#!/usr/bin/env bash
# Automation Hub's import check on a built collection tarball: galaxy-importer (requirements/importer.txt) in its
# own venv, .venv-importer, made here when missing or stale; settings in hacking/galaxy-importer.cfg.
# Fails when the import fails or galaxy-importer logs any ERROR or WARNING (ansible-doc, ansible-lint, metadata).
#
# usage: hacking/galaxy_importer.sh sailpoint-isc-X.Y.Z.tar.gz
set -euo pipefail

# shellcheck source=hacking/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

say() { printf 'galaxy-importer: %s\n' "$*"; }
die() { printf 'galaxy-importer: ERROR: %s\n' "$*" >&2; exit 1; }

if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then
    die "usage: $0 COLLECTION_TARBALL"
fi
tarball="$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")"
VENV="${ISC_ROOT}/.venv-importer"
REQS="${ISC_ROOT}/requirements/importer.txt"

# Serialised with setup.sh: both may (re)build a venv in this tree.
exec 9>"${ISC_ROOT}/.build/setup.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi
PY311="$(isc_find_python 3.11)" || die "no usable Python 3.11 (with venv/ensurepip) found"
want_stamp="$(printf '%s\n%s\n' "$(isc_hash "${REQS}")" "$("${PY311}" -c 'import sys; print(sys.version)')" | sha256sum | cut -d' ' -f1)"
if [ ! -x "${VENV}/bin/python" ] || [ "$(cat "${VENV}/.isc-stamp" 2>/dev/null || true)" != "${want_stamp}" ]; then
    say "creating .venv-importer (requirements/importer.txt)"
    rm -rf "${VENV}"
    "${PY311}" -m venv "${VENV}" || die "python -m venv failed"
    log="$(mktemp)"
    if ! "${VENV}/bin/python" -m pip install -q --disable-pip-version-check -r "${REQS}" >"${log}" 2>&1; then
        cat "${log}" >&2
        rm -f "${log}"
        die "pip install -r requirements/importer.txt failed (output above)"
    fi
    rm -f "${log}"
    printf '%s\n' "${want_stamp}" >"${VENV}/.isc-stamp"
fi
exec 9>&-

work="$(mktemp -d "${TMPDIR:-/tmp}/isc-importer.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
rc=0
# Only the tarball's content: no collection of this checkout on any Ansible path, the importer venv's tools first.
(
    cd "${work}"
    env -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_CONFIG \
        PATH="${VENV}/bin:${PATH}" VIRTUAL_ENV="${VENV}" ANSIBLE_HOME="${work}/ansible-home" \
        GALAXY_IMPORTER_CONFIG="${ISC_ROOT}/hacking/galaxy-importer.cfg" \
        "${VENV}/bin/python" -m galaxy_importer.main "${tarball}"
) >"${work}/output.txt" 2>&1 || rc=$?
cat "${work}/output.txt"
if [ "${rc}" -ne 0 ]; then
    die "the import failed (exit ${rc})"
fi
if grep -qE '^(ERROR|WARNING|CRITICAL):' "${work}/output.txt"; then
    die "galaxy-importer logged errors or warnings (above)"
fi
grep -q '^Importer processing completed successfully' "${work}/output.txt" || die "galaxy-importer did not report success"
say "ok: $(basename "${tarball}")"
