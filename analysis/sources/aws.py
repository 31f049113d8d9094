"""boto3 sessions and clients for one region, all pointed at one endpoint when asked.

boto3/botocore are imported inside functions: `python -m analysis --help` must stay fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Error codes AWS uses for "this principal may not call that" (per service).
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "UnauthorizedException",
        "AuthFailure",
    }
)
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "LimitExceeded",
        "LimitExceededException",
        "SlowDown",
    }
)


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def is_access_denied(exc: BaseException) -> bool:
    response = getattr(exc, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error_code(exc) in ACCESS_DENIED_CODES or (status == 403 and error_code(exc) != "")


def is_throttling(exc: BaseException) -> bool:
    return error_code(exc) in THROTTLING_CODES


def is_unreachable(exc: BaseException) -> bool:
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

    return isinstance(exc, (BotoConnectionError, ConnectTimeoutError, ReadTimeoutError))


def known_regions() -> frozenset[str]:
    """Region names of every AWS partition, from botocore's bundled endpoint data (no network)."""
    import botocore.session

    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for service in ("ec2", "monitoring")
        for region in session.get_available_regions(service, partition)
    )


def _fast_timestamp(value: Any) -> float:
    """Epoch seconds as float: GetMetricData returns up to 100,800 timestamps per call and
    botocore's default parser builds a tz-aware datetime for each (the largest decode cost)."""
    if isinstance(value, (int, float)):
        return float(value)
    from botocore.utils import parse_timestamp

    return parse_timestamp(value).timestamp()


@dataclass
class Connector:
    """Credentials and endpoint shared by every client of a run (`--profile`, `--endpoint-url`)."""

    profile: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = 10  # botocore adaptive retry: client-side rate limiting + backoff on throttling
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    credentials: Mapping[str, str] | None = None  # boto3.Session keyword arguments, e.g. from STS AssumeRole
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _clients: dict[tuple[str, str, bool, bool], Any] = field(default_factory=dict, repr=False)
    _sessions: dict[bool, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, profile: str | None = None, endpoint_url: str | None = None, **kw: Any) -> Connector:
        return cls(profile=profile, endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None, **kw)

    def config(self, **overrides: Any):
        from botocore.config import Config

        settings = dict(
            retries={"mode": "adaptive", "max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=32,
        )
        return Config(**{**settings, **overrides})

    def endpoint(self, region: str) -> str | None:
        """Endpoint URL for a region's clients: `--endpoint-url` for all, else AWS's own."""
        return self.endpoint_url

    def client(self, service: str, region: str, *, raw_timestamps: bool = False, probe: bool = False):
        """One cached client per (service, region); boto3 clients are thread-safe once built."""
        key = (service, region, raw_timestamps, probe)
        with self._lock:  # boto3 sessions are not thread-safe: build clients under a lock
            if key not in self._clients:
                session = self._session(raw_timestamps)
                config = (
                    self.config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5)
                    if probe
                    else self.config()
                )
                self._clients[key] = session.client(
                    service, region_name=region, endpoint_url=self.endpoint(region), config=config
                )
            return self._clients[key]

    def _session(self, raw_timestamps: bool):
        if raw_timestamps not in self._sessions:
            import boto3

            session = boto3.Session(profile_name=self.profile, **(self.credentials or {}))
            if raw_timestamps:  # parser defaults are per session: keep them off the other clients
                session._session.get_component("response_parser_factory").set_parser_defaults(
                    timestamp_parser=_fast_timestamp
                )
            self._sessions[raw_timestamps] = session
        return self._sessions[raw_timestamps]

    def unreachable(self, region: str) -> str | None:
        """Why the region does not answer, or None when it does.

        One STS GetCallerIdentity (needs no IAM permission) through a client that retries a
        connection failure once, so that a dead region is named in seconds rather than after
        every client's adaptive retries. An API error still proves the region reachable.
        """
        from botocore.exceptions import ClientError

        try:
            self.client("sts", region, probe=True).get_caller_identity()
        except ClientError:
            return None
        except Exception as e:
            if is_unreachable(e):
                return f"{type(e).__name__}: {e}"
            raise
        return None

    def region(self, region: str) -> RegionClients:
        return RegionClients(self, region)


@dataclass(frozen=True)
class RegionClients:
    """What a kind's `discover` receives: `clients.client("rds")` in `clients.region`."""

    connector: Connector
    region: str

    def client(self, service: str):
        return self.connector.client(service, self.region)
