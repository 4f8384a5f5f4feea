# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.
# Mirrors plugins/module_utils/_options.py CONNECTION_OPTIONS; tests/unit/plugins/doc_fragments checks they agree.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  base_url:
    description:
      - URL of the ISC tenant's API, for example V(https://acme.api.identitynow.com).
      - Plain V(http://) is accepted only for loopback addresses (a local emulator).
      - If not set, the value of the E(SAIL_BASE_URL) environment variable is used.
      - Mutually exclusive with O(tenant); one of the two is required.
    type: str
  tenant:
    description:
      - Tenant name; the API URL becomes V(https://{tenant}.api.identitynow.com).
      - If not set, the value of the E(SAIL_TENANT) environment variable is used.
    type: str
  client_id:
    description:
      - OAuth client ID of a personal access token or API client.
      - If not set, the value of the E(SAIL_CLIENT_ID) environment variable is used.
    type: str
  client_secret:
    description:
      - OAuth client secret belonging to O(client_id).
      - If not set, the value of the E(SAIL_CLIENT_SECRET) environment variable is used.
    type: str
  access_token:
    description:
      - An access token to use instead of O(client_id) and O(client_secret). It cannot be renewed when it expires.
      - If not set, the value of the E(SAIL_ACCESS_TOKEN) environment variable is used.
    type: str
  api_version:
    description:
      - ISC API version to call. V(beta), V(v2024) and V(v2025) have the pending-tasks endpoint;
        V(v2026) and the per-service V(v1) answer pending questions with the C(completionStatus isnull) filter.
      - If not set, the value of the E(SAIL_API_VERSION) environment variable is used.
    type: str
    choices: [beta, v2024, v2025, v2026, v1]
    default: beta
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate. Set to V(false) only for testing; a warning is shown.
      - If not set, the value of the E(SAIL_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM file of CA certificates to trust instead of the system store.
      - If not set, the value of the E(SAIL_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for each response.
      - If not set, the value of the E(SAIL_TIMEOUT) environment variable is used.
    type: float
    default: 30.0
  retries:
    description:
      - How many times a request is retried after a 502, 503 or 504, or a connection error. 5xx answers and read
        errors are retried only where repeating the request is safe (never a PATCH). 400, 401, 403 and 404 are
        never retried.
      - 429 answers are retried on every method, after the C(Retry-After) the service asks for, for as long as
        O(max_retry_wait) allows, whatever this count.
      - If not set, the value of the E(SAIL_RETRIES) environment variable is used.
    type: int
    default: 5
  max_retry_wait:
    description:
      - Upper bound, in seconds, on the total time spent waiting between retries of one request.
      - If not set, the value of the E(SAIL_MAX_RETRY_WAIT) environment variable is used.
    type: float
    default: 120.0
  rate_limit:
    description:
      - Most requests this process sends in any 10 seconds, so bulk work paces itself under ISC's limit of
        100 requests per 10 seconds per client ID and API version. V(0) turns pacing off.
      - If not set, the value of the E(SAIL_RATE_LIMIT) environment variable is used.
    type: int
    default: 95
  experimental_header:
    description:
      - "Send C(X-SailPoint-Experimental: true), which endpoints that were once experimental required and which
        the others ignore."
      - If not set, the value of the E(SAIL_EXPERIMENTAL_HEADER) environment variable is used.
    type: bool
    default: true
notes:
  - "The modules run where the task runs; use C(hosts: localhost) or C(delegate_to: localhost)."
  - Every process that uses the same client ID shares ISC's rate limit; prefer C(run_once) to per-host fan-out.
"""

    PLUGINS = r"""
options:
  base_url:
    description:
      - URL of the ISC tenant's API, for example V(https://acme.api.identitynow.com).
      - Plain V(http://) is accepted only for loopback addresses (a local emulator).
      - Mutually exclusive with O(tenant); one of the two is required.
    type: str
    env:
      - name: SAIL_BASE_URL
    vars:
      - name: sail_base_url
  tenant:
    description:
      - Tenant name; the API URL becomes V(https://{tenant}.api.identitynow.com).
    type: str
    env:
      - name: SAIL_TENANT
    vars:
      - name: sail_tenant
  client_id:
    description:
      - OAuth client ID of a personal access token or API client.
    type: str
    env:
      - name: SAIL_CLIENT_ID
    vars:
      - name: sail_client_id
  client_secret:
    description:
      - OAuth client secret belonging to O(client_id).
    type: str
    env:
      - name: SAIL_CLIENT_SECRET
    vars:
      - name: sail_client_secret
  access_token:
    description:
      - An access token to use instead of O(client_id) and O(client_secret). It cannot be renewed when it expires.
    type: str
    env:
      - name: SAIL_ACCESS_TOKEN
    vars:
      - name: sail_access_token
  api_version:
    description:
      - ISC API version to call. V(beta), V(v2024) and V(v2025) have the pending-tasks endpoint;
        V(v2026) and the per-service V(v1) answer pending questions with the C(completionStatus isnull) filter.
    type: str
    choices: [beta, v2024, v2025, v2026, v1]
    default: beta
    env:
      - name: SAIL_API_VERSION
    vars:
      - name: sail_api_version
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate. Set to V(false) only for testing; a warning is shown.
    type: bool
    default: true
    env:
      - name: SAIL_VALIDATE_CERTS
    vars:
      - name: sail_validate_certs
  ca_path:
    description:
      - Path to a PEM file of CA certificates to trust instead of the system store.
    type: path
    env:
      - name: SAIL_CA_PATH
    vars:
      - name: sail_ca_path
  timeout:
    description:
      - Seconds to wait for each response.
    type: float
    default: 30.0
    env:
      - name: SAIL_TIMEOUT
    vars:
      - name: sail_timeout
  retries:
    description:
      - How many times a request is retried after a 502, 503 or 504, or a connection error.
      - 429 answers are retried for as long as O(max_retry_wait) allows; 400, 401, 403 and 404 are never retried.
    type: int
    default: 5
    env:
      - name: SAIL_RETRIES
    vars:
      - name: sail_retries
  max_retry_wait:
    description:
      - Upper bound, in seconds, on the total time spent waiting between retries of one request.
    type: float
    default: 120.0
    env:
      - name: SAIL_MAX_RETRY_WAIT
    vars:
      - name: sail_max_retry_wait
  rate_limit:
    description:
      - Most requests this process sends in any 10 seconds. V(0) turns pacing off.
    type: int
    default: 95
    env:
      - name: SAIL_RATE_LIMIT
    vars:
      - name: sail_rate_limit
  experimental_header:
    description:
      - "Send C(X-SailPoint-Experimental: true)."
    type: bool
    default: true
    env:
      - name: SAIL_EXPERIMENTAL_HEADER
    vars:
      - name: sail_experimental_header
"""
