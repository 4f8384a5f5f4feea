#!/usr/bin/env bash
# Plugin and role documentation, generated from the code with antsibull-docs into docs/plugins/
# (simplified RST: one page per module, lookup and role, plus index.rst; GitHub renders them).
#
# usage: hacking/docs.sh           regenerate plugins/doc_fragments/connection.py and docs/plugins/ (commit the result)
#        hacking/docs.sh --check   regenerate into a temp dir; fail with a diff summary when docs/plugins/ is stale
#
# Never edit docs/plugins/ by hand: fix the DOCUMENTATION/EXAMPLES/RETURN of the plugin or the role's
# meta/argument_specs.yml and re-run this script. Output is deterministic for the pinned antsibull-docs
# and ansible-core in requirements/dev.txt (no tool version is written into the pages).
set -euo pipefail

# shellcheck source=hacking/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "${ISC_ROOT}"

say() { printf 'docs: %s\n' "$*"; }
die() { printf 'docs: ERROR: %s\n' "$*" >&2; exit 1; }

check=0
for arg in "$@"; do
    case "${arg}" in
        --check) check=1 ;;
        -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
        *) die "unknown argument: ${arg} (expected --check)" ;;
    esac
done

DOCS_DIR="${ISC_ROOT}/docs/plugins"

bash "${ISC_ROOT}/hacking/setup.sh" >/dev/null
command -v antsibull-docs >/dev/null 2>&1 || die "antsibull-docs not found in ${VIRTUAL_ENV} (run hacking/setup.sh)"

# The connection doc fragment is generated from the options table first: the pages below include it.
if [ "${check}" = 1 ]; then
    python "${ISC_ROOT}/hacking/connection_fragment.py" --check || die "plugins/doc_fragments/connection.py is stale: run hacking/docs.sh"
else
    python "${ISC_ROOT}/hacking/connection_fragment.py"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/isc-docs.XXXXXX")"
trap 'rm -rf "${WORK}"' EXIT
OUT="${WORK}/plugins"
mkdir -p "${OUT}"

# Hermetic: no ansible.cfg from the caller's directory or home, only this checkout's collection.
: >"${WORK}/ansible.cfg"
export ANSIBLE_CONFIG="${WORK}/ansible.cfg"
export ANSIBLE_HOME="${WORK}/ansible-home"
export ANSIBLE_COLLECTIONS_PATH="${ISC_ROOT}/.build/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
unset ANSIBLE_DOC_FRAGMENT_PLUGINS ANSIBLE_LIBRARY ANSIBLE_LOOKUP_PLUGINS ANSIBLE_ROLES_PATH

log="${WORK}/antsibull-docs.log"
# --fail-on-error: a plugin whose documentation does not parse fails the run instead of getting an error page.
if ! antsibull-docs collection \
    --use-current --squash-hierarchy \
    --output-format simplified-rst \
    --no-add-antsibull-docs-version \
    --fail-on-error \
    --cleanup everything \
    --dest-dir "${OUT}" \
    sailpoint.isc >"${log}" 2>&1; then
    cat "${log}" >&2
    die "antsibull-docs failed (output above): fix the plugin or role documentation it names"
fi

[ -n "$(find "${OUT}" -type f -name '*.rst' -print -quit)" ] || { cat "${log}" >&2; die "antsibull-docs wrote no pages"; }

if [ "${check}" = 1 ]; then
    if [ ! -d "${DOCS_DIR}" ]; then
        die "docs/plugins/ does not exist: run hacking/docs.sh and commit docs/plugins/"
    fi
    if diff -r -q "${DOCS_DIR}" "${OUT}" >"${WORK}/summary" 2>&1; then
        say "docs/plugins/ is up to date ($(find "${OUT}" -type f | wc -l) files)"
        exit 0
    fi
    # Paths relative to the checkout, "generated" = what the code says now.
    sed -e "s#${OUT}#<generated>#g" -e "s#${ISC_ROOT}/##g" "${WORK}/summary" >&2
    diff -r -u "${DOCS_DIR}" "${OUT}" 2>/dev/null | grep -v '^Only in ' | sed -e "s#${OUT}#<generated>#g" -e "s#${ISC_ROOT}/##g" | head -n 80 >&2 || true
    printf 'docs: (antsibull-docs %s, ansible-core %s)\n' \
        "$(antsibull-docs --version 2>/dev/null | tr -d '\n')" \
        "$(python -c 'import ansible; print(ansible.__version__)')" >&2
    die "docs/plugins/ is stale: run hacking/docs.sh and commit docs/plugins/"
fi

# Swap the whole directory so removed plugins lose their pages too.
rm -rf "${DOCS_DIR}.new"
cp -R "${OUT}" "${DOCS_DIR}.new"
rm -rf "${DOCS_DIR}"
mv "${DOCS_DIR}.new" "${DOCS_DIR}"
say "wrote $(find "${DOCS_DIR}" -type f | wc -l) files into docs/plugins/:"
(cd "${DOCS_DIR}" && find . -type f | sed 's#^\./#  docs/plugins/#' | LC_ALL=C sort)
