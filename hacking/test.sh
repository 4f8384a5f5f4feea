#!/usr/bin/env bash
# THE test command (README and CI): hacking/test.sh [step ...]
#
# steps, in order (default: all):
#   ruff       ruff check .
#   sanity     hacking/sanity.sh: ansible-test sanity + units on 2.19/py3.11 and 2.21/py3.13 (it also makes
#              .venv-2.21, which the pytest step uses to check ansible-doc on 2.21)
#   pytest     the whole pytest suite (emulator, unit, integration), every request held to the vendor specs by
#              the emulator; "no tests collected" fails, and so does any skipped test (a promise not kept)
#   integration  hacking/integration.sh: the ansible-test integration targets (tests/integration/targets) with
#              `ansible-test integration --local` against an emulator the script starts and stops; one target:
#              hacking/integration.sh task_status
#   lint       ansible-lint (production profile, .ansible-lint)
#   docs       antsibull-docs lint-collection-docs --plugin-docs .
#   changelog  antsibull-changelog lint
#   build      ansible-galaxy collection build + install into a temp dir (the Galaxy tarball is sane), then
#              galaxy-importer on the tarball, as Automation Hub runs it (hacking/galaxy_importer.sh, .venv-importer)
# not in the default run:
#   quick      the inner loop, about a minute: ruff, tests/unit (no network), and tests/integration/test_demo.py (hacking/demo.sh
#              against the emulator); run the whole gate before you push
# hacking/setup.sh always runs first. Stops at the first failing step (non-zero exit).
# env: ISC_PYTEST_ARGS  extra pytest arguments, e.g. "-k client" or "-n 0" (serial)
set -euo pipefail

# shellcheck source=hacking/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "${ISC_ROOT}"

ALL_STEPS=(ruff sanity pytest integration lint docs changelog build)

steps=()
for arg in "$@"; do
    case "${arg}" in
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
        ansible-lint) steps+=(lint) ;;
        quick) steps+=(quick) ;;
        *)
            if [[ " ${ALL_STEPS[*]} " == *" ${arg} "* ]]; then
                steps+=("${arg}")
            else
                printf 'test.sh: unknown step %q (steps: %s quick)\n' "${arg}" "${ALL_STEPS[*]}" >&2
                exit 2
            fi
            ;;
    esac
done
[ "${#steps[@]}" -gt 0 ] || steps=("${ALL_STEPS[@]}")

step_ruff() {
    ruff check .
}

ensure_java() {
    # The Event-Driven Ansible tests need Java 17 (ansible-rulebook); install it where root and apt-get can.
    command -v java >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: no java: installing openjdk-17-jre-headless (Debian) for the Event-Driven Ansible tests"
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null 2>&1 || true
        # shellcheck source=hacking/env.sh
        command -v java >/dev/null 2>&1 && . "${ISC_ROOT}/hacking/env.sh"
    fi
    return 0  # without it, those tests skip and say why, which fails the step below
}

step_pytest() {
    # Each xdist worker starts its own emulator on port 0; --dist loadfile keeps a test file's
    # module-scoped fixtures on one worker. Serial: ISC_PYTEST_ARGS="-n 0".
    local rc=0 log
    ensure_java
    log="$(mktemp)"
    # shellcheck disable=SC2086  # ISC_PYTEST_ARGS is a word list on purpose
    python -m pytest -n 2 --dist loadfile -rs ${ISC_PYTEST_ARGS:-} 2>&1 | tee "${log}" || rc=$?
    if [ "${rc}" -eq 5 ]; then
        echo "test.sh: pytest collected no tests (exit 5): that is a failure" >&2
    elif [ "${rc}" -eq 0 ] && grep -q '^SKIPPED' "${log}"; then
        echo "test.sh: tests were skipped (reasons above; the 2.21 ones need hacking/sanity.sh 2.21 first): that is a failure" >&2
        rc=1
    fi
    rm -f "${log}"
    return "${rc}"
}

step_quick() {
    ruff check . && python hacking/no_network.py tests/unit -q && python -m pytest tests/integration/test_demo.py
}

step_sanity() {
    bash "${ISC_ROOT}/hacking/sanity.sh"
}

step_integration() {
    bash "${ISC_ROOT}/hacking/integration.sh"
}

step_lint() {
    ansible-lint --offline --profile production --strict
}

step_docs() {
    antsibull-docs lint-collection-docs --plugin-docs .
}

step_changelog() {
    antsibull-changelog lint
}

step_build() {
    local tmp rc=0
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/isc-build.XXXXXX")"
    {
        ansible-galaxy collection build --output-path "${tmp}/dist" . \
            && ANSIBLE_COLLECTIONS_PATH="${tmp}/install" ansible-galaxy collection install --offline --no-deps --force \
                -p "${tmp}/install" "${tmp}"/dist/sailpoint-isc-*.tar.gz \
            && ANSIBLE_COLLECTIONS_PATH="${tmp}/install" ansible-doc -l sailpoint.isc \
            && bash "${ISC_ROOT}/hacking/galaxy_importer.sh" "${tmp}"/dist/sailpoint-isc-*.tar.gz
    } || rc=$?
    rm -rf "${tmp}"
    return "${rc}"
}

start_all="${SECONDS}"
echo "==== setup ===="
bash "${ISC_ROOT}/hacking/setup.sh"

passed=()
timings=()
n=0
for step in "${steps[@]}"; do
    n=$((n + 1))
    echo
    echo "==== [${n}/${#steps[@]}] ${step} ===="
    start="${SECONDS}"
    rc=0
    "step_${step}" || rc=$?
    took=$((SECONDS - start))
    if [ "${rc}" -ne 0 ]; then
        echo
        echo "test.sh: step '${step}' FAILED (exit ${rc}) after ${took} s; passed before it: ${passed[*]:-none}" >&2
        echo "steps: ${#passed[@]} passed, 1 failed"
        exit 1
    fi
    passed+=("${step}")
    timings+=("${step} ${took}s")
done

echo
echo "test.sh: ${timings[*]}; total $((SECONDS - start_all)) s"
echo "steps: ${#passed[@]} passed, 0 failed"
