# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The shared emulator fixtures: one emulator per test session on a free port, reset before each test.

Every emulator started here holds each API request to the vendor spec subsets (``validate_requests``): a request
that breaks its spec is answered with 400, and the test during which it arrived fails with the violation's text,
even when the test itself passed (the wrappers of each test's setup, call and teardown below). A test that sends a bad request on purpose turns
validation off for itself (``emulator.tenant.configure(validate_requests=False)``; the next reset turns it back
on) or takes the violations it expects (``emulator.tenant.validation.take_violations()``). The summary line at the
end counts the requests validated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

try:
    from isc_emulator import Emulator
except ImportError:  # ansible-test's unit venv has only tests/unit/requirements.txt
    Emulator = None

NO_EMULATOR = "the ISC emulator (tests/emulator) is not installed in this environment; hacking/test.sh runs these tests"
_VALIDATED_KEY = "isc_validated_requests"
# Every emulator started by these fixtures (running or stopped): checked after each test, counted at the end.
_WATCHED: list[Any] = []
_validated_stash = pytest.StashKey[int]()


def start_validating_emulator(**options: Any) -> Any:
    """An emulator on a free loopback port that validates every request, watched by the violation check."""
    if Emulator is None:
        pytest.skip(NO_EMULATOR)
    server = Emulator(host="127.0.0.1", port=0, validate_requests=True, **options).start()
    _WATCHED.append(server)
    return server


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Emulator]:
    server = start_validating_emulator(seed="empty")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def emulator(emulator_server: Emulator) -> Iterator[Emulator]:
    """The running emulator with an empty tenant, default settings, no faults and an empty request log."""
    emulator_server.reset(seed="empty")
    yield emulator_server
    emulator_server.reset(seed="empty")


@pytest.fixture
def extra_emulator() -> Iterator[Callable[..., Emulator]]:
    """A factory of further emulators for one test (``extra_emulator(seed="demo")``), validating, stopped afterwards."""
    started: list[Emulator] = []

    def start(**options: Any) -> Emulator:
        server = start_validating_emulator(**options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def tls_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, str]]:
    """A second emulator (demo seed) serving HTTPS with a certificate from a throw-away CA: (emulator, CA bundle)."""
    if Emulator is None:
        pytest.skip(NO_EMULATOR)
    from isc_emulator.testing import write_tls_files

    cert_file, key_file, ca_file = write_tls_files(tmp_path_factory.mktemp("tls"))
    server = start_validating_emulator(seed="demo", tls_cert=cert_file, tls_key=key_file)
    try:
        yield server, ca_file
    finally:
        server.stop()


def _violations() -> list[str]:
    return [violation for server in _WATCHED for violation in server.tenant.validation.take_violations()]


def _violation_error(violations: list[str]) -> AssertionError:
    listed = "\n".join(f"  {violation}" for violation in violations)
    return AssertionError(f"{len(violations)} request(s) to the emulator broke the vendor spec:\n{listed}")


def _failing_on_violations() -> Iterator[None]:
    """The body of the wrappers below: fail the test phase during which a watched emulator got a bad request."""
    try:
        result = yield
    except BaseException as exc:
        violations = _violations()
        if violations:
            raise _violation_error(violations) from exc
        raise
    violations = _violations()
    if violations:
        raise _violation_error(violations)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    return (yield from _failing_on_violations())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    return (yield from _failing_on_violations())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    return (yield from _failing_on_violations())


def pytest_sessionfinish(session: pytest.Session) -> None:
    validated = sum(server.tenant.validation.validated for server in _WATCHED)
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller adds the workers' counts up
        workeroutput[_VALIDATED_KEY] = validated
    else:
        session.config.stash[_validated_stash] = session.config.stash.get(_validated_stash, 0) + validated


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    config = node.config
    config.stash[_validated_stash] = config.stash.get(_validated_stash, 0) + int(node.workeroutput.get(_VALIDATED_KEY, 0))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    validated = config.stash.get(_validated_stash, 0)
    if validated:
        terminalreporter.write_line(f"isc-emulator: {validated} API requests validated against the vendor spec subsets")
