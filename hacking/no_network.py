# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run pytest with no network: any IP socket or name lookup fails the test that tries it.

tests/unit must pass like this (hacking/sanity.sh runs it on both legs; it also passes under ``unshare -n``).

    python hacking/no_network.py tests/unit -q
"""

from __future__ import annotations

import ipaddress
import socket
import sys

import pytest

NETWORK_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class NoNetworkError(RuntimeError):
    pass


class _LocalOnlySocket(socket.socket):
    def __init__(self, family: int = -1, *args: object, **kwargs: object) -> None:
        if family in NETWORK_FAMILIES or family == -1:
            raise NoNetworkError("tests/unit must not use the network (an IP socket was opened); move the test to tests/integration")
        super().__init__(family, *args, **kwargs)  # type: ignore[arg-type]


_getaddrinfo = socket.getaddrinfo


def _numeric_lookup_only(host: object, *args: object, **kwargs: object) -> object:
    try:
        ipaddress.ip_address(str(host))
    except ValueError:
        raise NoNetworkError("tests/unit must not use the network (a host name was looked up); move the test to tests/integration") from None
    return _getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


def _no_connection(*args: object, **kwargs: object) -> None:
    raise NoNetworkError("tests/unit must not use the network (a connection was opened); move the test to tests/integration")


def main() -> int:
    socket.socket = _LocalOnlySocket  # type: ignore[misc]
    socket.getaddrinfo = _numeric_lookup_only  # type: ignore[assignment]
    socket.create_connection = _no_connection  # type: ignore[assignment]
    return int(pytest.main(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
