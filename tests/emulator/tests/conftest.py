"""Fixtures for the emulator's own tests: one in-process emulator per session, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_testlib import API_CLIENT, PAT_CLIENT, ApiSession

from isc_emulator import Emulator


@pytest.fixture(scope="session")
def emu_server() -> Iterator[Emulator]:
    server = Emulator(host="127.0.0.1", port=0, seed="empty").start()
    yield server
    server.stop()


@pytest.fixture
def emu(emu_server: Emulator) -> Iterator[Emulator]:
    """The session's emulator with an empty tenant, startup settings, no faults and an empty request log."""
    emu_server.reset(seed="empty")
    yield emu_server
    emu_server.reset(seed="empty")


@pytest.fixture
def pat(emu: Emulator) -> ApiSession:
    return ApiSession(emu.url, PAT_CLIENT)


@pytest.fixture
def api_client(emu: Emulator) -> ApiSession:
    return ApiSession(emu.url, API_CLIENT)
