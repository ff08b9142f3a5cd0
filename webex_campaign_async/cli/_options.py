"""What a batch job is told to do: `JobOptions`, the exit codes, and the usage error."""

from __future__ import annotations

import attrs

from .. import UpdateLink, UpsertMode
from ._lines import DEFAULT_ENCODING
from ._readers import CsvOptions

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "EXIT_ABORTED",
    "EXIT_NOT_ALL_APPLIED",
    "EXIT_OK",
    "EXIT_USAGE",
    "REDIS_URL_ENV",
    "JobOptions",
    "UsageError",
]

#: 0 every record applied; 1 some did not; 2 usage or input error; 3 the run was aborted.
EXIT_OK, EXIT_NOT_ALL_APPLIED, EXIT_USAGE, EXIT_ABORTED = 0, 1, 2, 3

API_KEY_ENV = "WEBEX_CAMPAIGN_API_KEY"
BASE_URL_ENV = "WEBEX_CAMPAIGN_BASE_URL"
REDIS_URL_ENV = "WEBEX_CAMPAIGN_REDIS_URL"


class UsageError(Exception):
    """A command line that cannot run: exit code 2."""


@attrs.frozen
class JobOptions:
    """Everything a job needs, parsed and checked."""

    input: str
    format: str
    csv: CsvOptions | None = None
    profile_name: str | None = None
    upsert: UpsertMode | None = None
    update_link: UpdateLink | None = None
    encoding: str = DEFAULT_ENCODING
    rate: float | None = None
    burst: int | None = None
    concurrency: int = 32
    attempts: int = 5
    timeout: float = 30.0
    deadline: float | None = None
    ordered: bool = True
    journal: str | None = None
    resume: bool = False
    failures: str | None = None
    report: str | None = None
    progress: str = "auto"
    progress_interval: float = 5.0
    grace: float = 10.0
    upsert_path: str | None = None
    allow_insecure_http: bool = False
    ca_file: str | None = None
    trust_env: bool = True
    redis_url: str | None = None
