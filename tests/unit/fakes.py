# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Stand-ins shared by the unit tests that run plugin logic without HTTP."""

from __future__ import annotations

from unittest.mock import Mock

from ansible_collections.sailpoint.isc.plugins.module_utils._client import IscClient
from ansible_collections.sailpoint.isc.plugins.module_utils._versions import API_VERSIONS


def mock_client(version: str = "beta") -> Mock:
    """A client mock with IscClient's interface (unknown attributes fail) speaking the given API version."""
    client = Mock(spec=IscClient)
    client.version = API_VERSIONS[version]
    return client
