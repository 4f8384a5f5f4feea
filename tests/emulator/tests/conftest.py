"""Fixtures for the emulator's own tests, on top of the shared emulator fixtures in tests/conftest.py."""

from __future__ import annotations

import pytest
from emulator_testlib import API_CLIENT, PAT_CLIENT, ApiSession

from isc_emulator import Emulator


@pytest.fixture(scope="session")
def emu_server(emulator_server: Emulator) -> Emulator:
    """The one session emulator of tests/conftest.py, under the name these tests use."""
    return emulator_server


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The session's emulator with an empty tenant, startup settings, no faults and an empty request log."""
    return emulator


@pytest.fixture
def pat(emu: Emulator) -> ApiSession:
    return ApiSession(emu.url, PAT_CLIENT)


@pytest.fixture
def api_client(emu: Emulator) -> ApiSession:
    return ApiSession(emu.url, API_CLIENT)
