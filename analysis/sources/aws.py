"""boto3 sessions and clients for one region, all pointed at one endpoint when asked.

A hung endpoint fails fast: each API has its own connect/read timeouts, and a region gets a
budget of timed-out attempts (TIMEOUT_BUDGET) across all its clients; past it every call in
that region raises `RegionHung`, which names the service, the operation and the region.
`RIGHTSIZE_AWS_TIMEOUT` (seconds) caps every timeout (tests point it at a local hung server).

boto3/botocore are imported inside functions: `python -m analysis --help` must stay fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.errors import AnalysisError, UsageError

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


CONNECT_TIMEOUT = 5.0  # a TCP/TLS handshake anywhere in AWS takes well under a second
DEFAULT_READ_TIMEOUT = 15.0  # describe/list calls answer in under a second
READ_TIMEOUTS = {"monitoring": 30.0, "pricing": 30.0, "sts": 5.0}  # GetMetricData pages are large
TIMEOUT_BUDGET = 2  # timed-out attempts a region may have (all services together) before it is hung
TIMEOUT_ENV = "RIGHTSIZE_AWS_TIMEOUT"


class RegionHung(AnalysisError):
    """A region's endpoint accepted calls and then did not answer, TIMEOUT_BUDGET times (an
    AnalysisError: where no caller isolates the region, the run stops with this one line)."""

    def __init__(self, region: str, service: str, operation: str, timeout: float, attempts: int):
        self.region, self.service, self.operation = region, service, operation
        self.timeout, self.attempts = timeout, attempts
        super().__init__(
            f"{service} {operation} in {region} did not answer within {timeout:g} s "
            f"({attempts} timed-out attempts in this region): the endpoint hangs"
        )


def timeout_cap() -> float | None:
    """The RIGHTSIZE_AWS_TIMEOUT cap on every timeout, if set (a positive number of seconds)."""
    text = os.environ.get(TIMEOUT_ENV)
    if not text:
        return None
    try:
        cap = float(text)
    except ValueError:
        cap = 0.0
    if not 0 < cap < 3600:
        raise UsageError(f"${TIMEOUT_ENV} must be a number of seconds, 0..3600; got {text!r}")
    return cap


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

    return isinstance(exc, (BotoConnectionError, ConnectTimeoutError, ReadTimeoutError, RegionHung))


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
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float | None = None  # None: the service's own (READ_TIMEOUTS)
    timeout_budget: int = TIMEOUT_BUDGET
    credentials: Mapping[str, str] | None = None  # boto3.Session keyword arguments, e.g. from STS AssumeRole
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _clients: dict[tuple[str, str, bool, bool], Any] = field(default_factory=dict, repr=False)
    _sessions: dict[bool, Any] = field(default_factory=dict, repr=False)
    _timeouts: dict[str, int] = field(default_factory=dict, repr=False)  # region -> timed-out attempts
    _hung: dict[str, RegionHung] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.timeout_budget < 1 or self.connect_timeout <= 0:
            raise ValueError("max_attempts and timeout_budget must be >= 1, connect_timeout > 0")

    @classmethod
    def from_env(cls, profile: str | None = None, endpoint_url: str | None = None, **kw: Any) -> Connector:
        return cls(profile=profile, endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None, **kw)

    def timeouts(self, service: str) -> tuple[float, float]:
        """(connect, read) timeout of a service's clients, capped by $RIGHTSIZE_AWS_TIMEOUT."""
        read = self.read_timeout or READ_TIMEOUTS.get(service, DEFAULT_READ_TIMEOUT)
        cap = timeout_cap()
        return (self.connect_timeout, read) if cap is None else (min(self.connect_timeout, cap), min(read, cap))

    def config(self, service: str = "", **overrides: Any):
        from botocore.config import Config

        connect, read = self.timeouts(service)
        settings = dict(
            retries={"mode": "adaptive", "max_attempts": self.max_attempts},
            connect_timeout=connect,
            read_timeout=read,
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
                    self.config(service, retries={"mode": "standard", "max_attempts": 2})
                    if probe
                    else self.config(service)
                )
                client = session.client(service, region_name=region, endpoint_url=self.endpoint(region), config=config)
                self._watch(client, service, region, config.read_timeout)
                self._clients[key] = client
            return self._clients[key]

    def _watch(self, client: Any, service: str, region: str, timeout: float) -> None:
        """Spend the region's timeout budget: once it is gone, the call that timed out, any call
        still retrying and every later call in the region raise RegionHung at once."""
        from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

        def give_up() -> None:
            if region in self._hung:  # a new instance per raise: threads must not share a traceback
                h = self._hung[region]
                raise RegionHung(h.region, h.service, h.operation, h.timeout, h.attempts)

        def before_call(model: Any, **_: Any) -> None:
            give_up()

        def needs_retry(caught_exception: BaseException | None = None, operation: Any = None, **_: Any) -> None:
            give_up()
            if not isinstance(caught_exception, (ReadTimeoutError, ConnectTimeoutError)):
                return
            with self._lock:
                spent = self._timeouts[region] = self._timeouts.get(region, 0) + 1
                if spent >= self.timeout_budget:
                    name = getattr(operation, "name", "?")
                    self._hung.setdefault(region, RegionHung(region, service, name, timeout, spent))
            give_up()

        client.meta.events.register_first("before-call", before_call)
        client.meta.events.register_first("needs-retry", needs_retry)

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
