#!/usr/bin/env bash
# ansible-test sanity + units, offline except for PyPI, without Docker:
#   leg 2.19: ansible-core 2.19 from .venv on Python 3.11
#   leg 2.21: ansible-core 2.21.5 from .venv-2.21 on Python 3.13 (created here when missing, with pyenv's or
#             Debian's python3.13; no Python 3.13 at all fails the run: a leg that cannot run is a failure)
# "units" also runs tests/unit under plain pytest on the leg's Python and ansible-core with the network cut off
# (hacking/no_network.py: an IP socket or a host name lookup fails the test). Any test skipped there fails it.
#
# usage: hacking/sanity.sh [2.19|2.21]... [sanity|units]...   (default: both legs, both commands)
#   e.g. hacking/sanity.sh 2.21 units
# env:   ISC_SANITY_ARGS   extra arguments for `ansible-test sanity` (e.g. "--test pylint")
#        ISC_PYTHON313     the Python 3.13 for the 2.21 leg (default: found in PATH, pyenv, /usr/bin, or apt)
#        ISC_KEEP_TREE=1   keep the temporary collection copy (path is printed)
#
# ansible-test must run from a real path ending in ansible_collections/sailpoint/isc, so the
# checkout is copied (git-tracked and untracked-but-not-ignored files only) into a temp tree.
# Any ERROR or WARNING printed by ansible-test fails the run; tests/sanity/ignore-*.txt stay empty.
set -euo pipefail

# shellcheck source=hacking/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "${ISC_ROOT}"

say() { printf 'sanity: %s\n' "$*"; }
die() { printf 'sanity: ERROR: %s\n' "$*" >&2; exit 1; }

# ansible-core 2.21 on Python 3.13, all pinned (the second venv).
CORE221_PINS=(
    ansible-core==2.21.5 cffi==2.1.1 cryptography==50.0.2 Jinja2==3.1.6 MarkupSafe==3.0.4
    packaging==26.4 pycparser==3.12 PyYAML==6.0.4 resolvelib==1.2.1
)
VENV221="${ISC_ROOT}/.venv-2.21"

legs=()
cmds=()
for arg in "$@"; do
    case "${arg}" in
        2.19 | 2.21) legs+=("${arg}") ;;
        sanity | units) cmds+=("${arg}") ;;
        -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
        *) die "unknown argument: ${arg} (expected 2.19, 2.21, sanity, units)" ;;
    esac
done
[ "${#legs[@]}" -gt 0 ] || legs=(2.19 2.21)
[ "${#cmds[@]}" -gt 0 ] || cmds=(sanity units)

bash "${ISC_ROOT}/hacking/setup.sh" >/dev/null

# --- pitfall 1: ansible-test downloads get-pip from a host we cannot reach -----------------------
write_get_pip_shim() {
    # usage: write_get_pip_shim VENV_PYTHON
    local py="$1" pyreq versions v shim
    pyreq="$("${py}" -c 'import ansible_test, os; print(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py"))')"
    versions="$(sed -n "s/^ *pip='\([0-9][0-9.]*\)',.*/\1/p" "${pyreq}" | sort -u)"
    [ -n "${versions}" ] || die "could not read the pip version from ${pyreq}"
    mkdir -p "${HOME}/.ansible/test/cache"
    for v in ${versions}; do
        shim="${HOME}/.ansible/test/cache/get_pip_${v//./_}.py"
        cat >"${shim}.tmp" <<'PY'
# Offline stand-in for get-pip.py (written by sailpoint.isc hacking/sanity.sh): ansible-test runs this
# through runpy with pip-install arguments in sys.argv; bootstrap pip from ensurepip, then install them.
# Their output is shown only when one fails.
import subprocess, sys
pip_install = [sys.executable, "-m", "pip", "install"] + [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
for command in ([sys.executable, "-m", "ensurepip", "--default-pip"], pip_install):
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode:
        sys.stdout.write(done.stdout)
        sys.exit(done.returncode)
PY
        mv "${shim}.tmp" "${shim}"
    done
}

# --- Python 3.13 for the 2.21 leg --------------------------------------------------------------------
MISSING221_REASON=""
PY313=""
apt_updated=0
apt_update_once() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
    if [ "${apt_updated}" = 0 ]; then
        apt-get update -qq >/dev/null 2>&1 || true
        apt_updated=1
    fi
}
apt_install() {
    # usage: apt_install PKG... (root + apt-get only)
    apt_update_once || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}
find_python313() {
    # Sets PY313, or MISSING221_REASON and returns 1.
    if [ -n "${ISC_PYTHON313:-}" ]; then
        if "${ISC_PYTHON313}" -c "import sys, venv, ensurepip; sys.exit(0 if sys.version_info[:2] == (3, 13) else 1)" >/dev/null 2>&1; then
            PY313="$("${ISC_PYTHON313}" -c 'import sys; print(sys.executable)')"
            return 0
        fi
        MISSING221_REASON="ISC_PYTHON313=${ISC_PYTHON313} is not a Python 3.13 with venv and ensurepip"
        return 1
    fi
    if PY313="$(isc_find_python 3.13)"; then
        return 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        MISSING221_REASON="no python3.13 on this machine, and no root/apt-get to install one"
        return 1
    fi
    say "no Python 3.13 on this machine; asking Debian for python3.13"
    apt_update_once || true
    if ! apt-cache policy python3.13 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        MISSING221_REASON="no python3.13 on this machine (none in PATH, pyenv versions, /usr/bin, /usr/local/bin), Debian $(. /etc/os-release 2>/dev/null && printf '%s' "${VERSION_CODENAME:-?}") has no python3.13 package, and pyenv cannot build one without internet"
        return 1
    fi
    if apt_install python3.13 python3.13-venv && PY313="$(isc_find_python 3.13)"; then
        return 0
    fi
    MISSING221_REASON="apt-get install python3.13 python3.13-venv failed"
    return 1
}

ensure_venv221() {
    local py313 stamp
    find_python313 || return 1
    py313="${PY313}"
    stamp="$(printf '%s\n' "${CORE221_PINS[@]}" "$("${py313}" -c 'import sys; print(sys.version)')" "$(isc_hash "${ISC_ROOT}/requirements/dev.txt" "${ISC_ROOT}/tests/emulator/pyproject.toml")" | sha256sum | cut -d' ' -f1)"
    if [ -x "${VENV221}/bin/ansible-test" ] && [ "$(cat "${VENV221}/.isc-stamp" 2>/dev/null || true)" = "${stamp}" ]; then
        return 0
    fi
    say "creating .venv-2.21 with ${py313}"
    rm -rf "${VENV221}"
    "${py313}" -m venv "${VENV221}" || die "python3.13 -m venv failed"
    local log
    log="$(mktemp)"
    if ! "${VENV221}/bin/python" -m pip install -q --disable-pip-version-check "${CORE221_PINS[@]}" >"${log}" 2>&1; then
        cat "${log}" >&2
        rm -f "${log}"
        die "pip install ansible-core==2.21.5 into .venv-2.21 failed (output above)"
    fi
    # The emulator and the test libraries for the pytest run of tests/unit, at requirements/dev.txt's versions.
    if ! "${VENV221}/bin/python" -m pip install -q --disable-pip-version-check -c "${ISC_ROOT}/requirements/dev.txt" \
        -e "${ISC_ROOT}/tests/emulator[test]" >"${log}" 2>&1; then
        cat "${log}" >&2
        rm -f "${log}"
        die "pip install tests/emulator[test] into .venv-2.21 failed (output above)"
    fi
    rm -f "${log}"
    printf '%s\n' "${stamp}" >"${VENV221}/.isc-stamp"
}

# The shellcheck sanity test only warns (and so fails here) when shellcheck is missing.
if ! command -v shellcheck >/dev/null 2>&1; then
    say "installing shellcheck (Debian) for the shellcheck sanity test"
    apt_install shellcheck || die "shellcheck is missing and could not be installed (apt-get install shellcheck)"
fi

# --- the temp copy (pitfall 3) ---------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/isc-sanity.XXXXXX")"
cleanup() {
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

# --- running ansible-test ----------------------------------------------------------------------------
# Warnings that say nothing about the collection: pip's complaints about this machine's pip config
# (extra index folders that do not exist), and ansible-test's locale fallback where en_US.UTF-8 is
# not generated (plus the "Reviewing previous warnings" header that repeats it). Anything else ansible-test warns about fails the run.
ALLOWED_WARNINGS_RE="^WARNING: (Location '[^']*' is ignored: it is neither a file nor a directory\\.|Using locale \"C\\.UTF-8\" instead of \"en_US\\.UTF-8\"\\. .*|Reviewing previous [0-9]+ warning\\(s\\):)$"
# What ansible-test's --venv prints while pip installs its requirements: left out of the output unless the run fails.
PIP_NOISE_RE="^(Installing requirements for Python .*|Using cached pip .* bootstrap script: .*|Looking in (indexes|links): .*|WARNING: Location '[^']*' is ignored: it is neither a file nor a directory\.|Collecting .*|Requirement already satisfied: .*|Installing collected packages: .*|Successfully (installed|built) .*|Building wheels? for .*|Processing [./].*|Obtaining .*| +(Downloading|Using cached|Attempting uninstall|Found existing installation|Uninstalling|Successfully uninstalled|Preparing metadata|Getting requirements|Installing build dependencies|Building wheel|Created wheel|Stored in directory|Installing backend dependencies)\b.*| +━.*)$"
run_ansible_test() {
    # usage: run_ansible_test LABEL ANSIBLE_TEST_BIN ARGS...
    local label="$1" bin="$2"
    shift 2
    local log="${WORK}/${label// /_}.log" rc=0 start
    start="${SECONDS}"
    say "${label}: ansible-test $*"
    (cd "${TREE}" && "${bin}" "$@" --color no) 2>&1 | tee "${log}" | { grep -Ev "${PIP_NOISE_RE}" || true; } || rc=$?
    local warnings
    warnings="$(grep -E '^WARNING: ' "${log}" | grep -Ev "${ALLOWED_WARNINGS_RE}" || true)"
    if [ "${rc}" -ne 0 ]; then
        if grep -Eq "${PIP_NOISE_RE}" "${log}"; then
            say "${label}: the pip output left out above:"
            grep -E "${PIP_NOISE_RE}" "${log}" >&2 || true
        fi
        say "${label}: FAILED (exit ${rc}) after $((SECONDS - start)) s"
        return 1
    fi
    if [ -n "${warnings}" ]; then
        printf '%s\n' "${warnings}" >&2
        say "${label}: FAILED: ansible-test printed warnings (above) after $((SECONDS - start)) s"
        return 1
    fi
    say "${label}: ok in $((SECONDS - start)) s"
}

has_unit_tests() {
    [ -n "$(find "${TREE}/tests/unit" -name 'test_*.py' -print -quit 2>/dev/null)" ]
}

run_unit_pytest() {
    # usage: run_unit_pytest LABEL PYTHON: tests/unit under pytest with no network; a skipped test fails it.
    local label="$1" py="$2" log="${WORK}/${1// /_}.log" rc=0 start
    start="${SECONDS}"
    say "${label}: pytest tests/unit, no network"
    (cd "${ISC_ROOT}" && "${py}" hacking/no_network.py tests/unit -q -rs -p no:cacheprovider) 2>&1 | tee "${log}" || rc=$?
    if [ "${rc}" -ne 0 ]; then
        say "${label}: FAILED (exit ${rc}) after $((SECONDS - start)) s"
        return 1
    fi
    if grep -q '^SKIPPED' "${log}"; then
        say "${label}: FAILED: tests were skipped (above); every unit test must run on every leg"
        return 1
    fi
    say "${label}: ok in $((SECONDS - start)) s"
}

# Every requested leg must be able to run before any of them starts.
if [[ " ${legs[*]} " == *" 2.21 "* ]]; then
    ensure_venv221 || die "the ansible-core 2.21 / Python 3.13 leg cannot run: ${MISSING221_REASON}"
fi

failed=0
for leg in "${legs[@]}"; do
    case "${leg}" in
        2.19) bin="${ISC_ROOT}/.venv/bin/ansible-test"; py=3.11 ;;
        2.21) bin="${VENV221}/bin/ansible-test"; py=3.13 ;;
    esac
    [ -x "${bin}" ] || die "${bin} not found (run hacking/setup.sh)"
    core="$("$(dirname "${bin}")/python" -c 'import ansible; print(ansible.__version__)')"
    write_get_pip_shim "$(dirname "${bin}")/python"
    for cmd in "${cmds[@]}"; do
        case "${cmd}" in
            sanity)
                # shellcheck disable=SC2086  # ISC_SANITY_ARGS is a word list on purpose
                run_ansible_test "sanity ${core} py${py}" "${bin}" sanity --venv --python "${py}" ${ISC_SANITY_ARGS:-} || failed=1
                ;;
            units)
                if ! has_unit_tests; then
                    say "units ${core} py${py}: FAILED: no tests/unit/**/test_*.py found"
                    failed=1
                    continue
                fi
                run_ansible_test "units ${core} py${py}" "${bin}" units --venv --python "${py}" || failed=1
                [ "${failed}" -eq 0 ] || break 2
                run_unit_pytest "pytest units ${core} py${py}" "$(dirname "${bin}")/python" || failed=1
                ;;
        esac
        [ "${failed}" -eq 0 ] || break 2
    done
done

[ "${failed}" -eq 0 ] || die "ansible-test failed"
say "all requested ansible-test runs passed"
