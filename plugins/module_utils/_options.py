# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""The connection options, declared once.

``CONNECTION_OPTIONS`` yields the module argument spec (with environment fallbacks and ``no_log``), the option
names the lookup and the event source read, and the doc fragment ``sailpoint.isc.connection``
(``hacking/connection_fragment.py`` generates it from this table). ``_settings`` turns their values into settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ansible.module_utils.errors import AnsibleFallbackNotFound

API_VERSION_CHOICES = ("beta", "v2024", "v2025", "v2026", "v1")


def env_fallback(*names: str) -> str:
    """The first of ``names`` set to a non-empty value: an empty SAIL_* variable (a blank credential field) is unset."""
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise AnsibleFallbackNotFound


@dataclass(frozen=True)
class ConnectionOption:
    name: str
    type: str
    env: str | None = None
    default: Any = None
    no_log: bool = False
    choices: tuple[str, ...] | None = None

    def argument_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": self.type, "no_log": self.no_log}
        if self.env:
            spec["fallback"] = (env_fallback, [self.env])
        if self.default is not None:
            spec["default"] = self.default
        if self.choices:
            spec["choices"] = list(self.choices)
        return spec


CONNECTION_OPTIONS: tuple[ConnectionOption, ...] = (
    ConnectionOption("base_url", "str", env="SAIL_BASE_URL"),
    ConnectionOption("tenant", "str", env="SAIL_TENANT"),
    ConnectionOption("client_id", "str", env="SAIL_CLIENT_ID"),
    ConnectionOption("client_secret", "str", env="SAIL_CLIENT_SECRET", no_log=True),
    ConnectionOption("access_token", "str", env="SAIL_ACCESS_TOKEN", no_log=True),
    ConnectionOption("api_version", "str", env="SAIL_API_VERSION", default="v1", choices=API_VERSION_CHOICES),
    ConnectionOption("validate_certs", "bool", env="SAIL_VALIDATE_CERTS", default=True),
    ConnectionOption("ca_path", "path", env="SAIL_CA_PATH"),
    ConnectionOption("timeout", "float", env="SAIL_TIMEOUT", default=30.0),
    ConnectionOption("retries", "int", env="SAIL_RETRIES", default=5),
    ConnectionOption("max_retry_wait", "float", env="SAIL_MAX_RETRY_WAIT", default=120.0),
    ConnectionOption("rate_limit", "int", env="SAIL_RATE_LIMIT", default=95),
    ConnectionOption("experimental_header", "bool", env="SAIL_EXPERIMENTAL_HEADER", default=True),
)

CONNECTION_OPTION_NAMES: tuple[str, ...] = tuple(option.name for option in CONNECTION_OPTIONS)


def connection_argument_spec() -> dict[str, dict[str, Any]]:
    """The argument spec entries every module shares."""
    return {option.name: option.argument_spec() for option in CONNECTION_OPTIONS}


def options_from_plugin(plugin: Any) -> dict[str, Any]:
    """Read the connection options of a plugin (its ``get_option``) into the mapping ``ClientConfig`` takes."""
    return {name: plugin.get_option(name) for name in CONNECTION_OPTION_NAMES}
