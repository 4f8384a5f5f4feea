# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one shared emulator fixture: started once per test session on a free port, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

try:
    from isc_emulator import Emulator
except ImportError:  # ansible-test's unit venv has only tests/unit/requirements.txt
    Emulator = None

NO_EMULATOR = "the ISC emulator (tests/emulator) is not installed in this environment; hacking/test.sh runs these tests"


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Emulator]:
    if Emulator is None:
        pytest.skip(NO_EMULATOR)
    server = Emulator(host="127.0.0.1", port=0, seed="empty").start()
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


@pytest.fixture(scope="session")
def tls_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, str]]:
    """A second emulator (demo seed) serving HTTPS with a certificate from a throw-away CA: (emulator, CA bundle)."""
    if Emulator is None:
        pytest.skip(NO_EMULATOR)
    from isc_emulator.testing import write_tls_files

    cert_file, key_file, ca_file = write_tls_files(tmp_path_factory.mktemp("tls"))
    server = Emulator(host="127.0.0.1", port=0, seed="demo", tls_cert=cert_file, tls_key=key_file).start()
    try:
        yield server, ca_file
    finally:
        server.stop()
