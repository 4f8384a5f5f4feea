# shellcheck shell=bash
# Sourced by the hacking/ scripts (and usable by hand: `. hacking/env.sh`).
# Points PATH at the repo's .venv and Ansible at the .build/collections tree made by hacking/setup.sh.

ISC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export ISC_ROOT

export VIRTUAL_ENV="${ISC_ROOT}/.venv"
case ":${PATH}:" in
    *":${VIRTUAL_ENV}/bin:"*) ;;
    *) PATH="${VIRTUAL_ENV}/bin:${PATH}" ;;
esac
export PATH
unset PYTHONHOME

# Ansible finds the checkout through the symlink .build/collections/ansible_collections/sailpoint/isc.
export ANSIBLE_COLLECTIONS_PATH="${ISC_ROOT}/.build/collections"
export ANSIBLE_FORCE_COLOR=0
export ANSIBLE_NOCOLOR=1
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false
export ANSIBLE_RETRY_FILES_ENABLED=false
export ANSIBLE_HOME="${ISC_ROOT}/.build/ansible-home"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PYTHONDONTWRITEBYTECODE=1

# ansible-rulebook (the Event-Driven Ansible tests) runs its rule engine in a Java 17 JVM found through JAVA_HOME:
# derive it from the java on PATH when it is not set. Without Java, those tests are skipped and say why.
if [ -z "${JAVA_HOME:-}" ] && command -v java >/dev/null 2>&1; then
    JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
    export JAVA_HOME
fi

# ansible-core refuses to run without a UTF-8 locale (CI may give none).
case "${LC_ALL:-${LANG:-}}" in
    *UTF-8* | *utf8* | *UTF8* | *utf-8*) ;;
    *) export LC_ALL=C.UTF-8 LANG=C.UTF-8 ;;
esac

# Python 3.11 for .venv: the first candidate that really is 3.11 with venv support.
isc_find_python() {
    # usage: isc_find_python 3.11  -> prints the path of a working pythonX.Y, or returns 1
    local want="$1" cand root
    local -a cands=("python${want}")
    root="$(pyenv root 2>/dev/null || true)"
    [ -n "${root}" ] || root="${HOME}/.pyenv"
    local d
    for d in "${root}"/versions/"${want}".*/bin/python"${want}" /root/.pyenv/versions/"${want}".*/bin/python"${want}"; do
        [ -x "${d}" ] && cands+=("${d}")
    done
    cands+=("/usr/bin/python${want}" "/usr/local/bin/python${want}")
    for cand in "${cands[@]}"; do
        if "${cand}" -c "import sys, venv, ensurepip; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '${want}' else 1)" >/dev/null 2>&1; then
            # Resolve pyenv shims and the like to the real interpreter, and this repo's own .venv (first on PATH)
            # to the Python it was made from: setup.sh deletes .venv before making it again.
            "${cand}" -c 'import sys; print(getattr(sys, "_base_executable", "") or sys.executable)'
            return 0
        fi
    done
    return 1
}

isc_hash() {
    # usage: isc_hash FILE... -> sha256 of the files' contents (missing files hash as empty)
    cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1
}

isc_copy_collection() {
    # usage: isc_copy_collection DEST: the checkout into DEST (.../ansible_collections/sailpoint/isc), for ansible-test.
    local dest="$1"
    # Only what git would commit: tracked + untracked-not-ignored (so never .venv*, .build, tests/output,
    # caches). Without git (e.g. an unpacked tarball), copy everything minus the same directories.
    if git -C "${ISC_ROOT}" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "${ISC_ROOT}" ls-files -z --cached --others --exclude-standard \
            | while IFS= read -r -d '' f; do if [ -e "${f}" ] || [ -L "${f}" ]; then printf '%s\0' "${f}"; fi; done \
            | tar -C "${ISC_ROOT}" --null -T - -cf - | tar -C "${dest}" -xf -
    else
        tar -C "${ISC_ROOT}" --exclude=./.git --exclude='./.venv*' --exclude=./.build --exclude=./tests/output \
            --exclude=__pycache__ --exclude='*.egg-info' --exclude=.pytest_cache --exclude=.ruff_cache --exclude=.hypothesis \
            -cf - . | tar -C "${dest}" -xf -
    fi
    # Leftovers that must never reach ansible-test (belt and braces).
    rm -rf "${dest}/.git" "${dest}"/.venv* "${dest}/.build" "${dest}/tests/output"
    find "${dest}" \( -name '*.egg-info' -o -name __pycache__ -o -name .pytest_cache -o -name .ruff_cache -o -name .hypothesis \) \
        -prune -exec rm -rf {} +
}
