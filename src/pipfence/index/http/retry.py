"""When to try a request again, and how long to wait: bounded exponential backoff with jitter,
and the server's ``Retry-After`` (seconds or an HTTP date) honoured up to a cap."""

from __future__ import annotations

import random
from collections.abc import Callable

from pipfence.index.http.transport import HeaderLookup

__all__ = ["TRY_LATER", "Retry", "delay", "retry_after"]

#: The hint of a failure that retrying did not cure, when nothing more specific is known.
TRY_LATER = "the index may be overloaded or unreachable; try again later"


class Retry(Exception):
    """A failed attempt worth repeating; ``message`` and ``hint`` are what the user sees when
    the last attempt fails too. ``status`` is the HTTP status, if one came."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        hint: str = TRY_LATER,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.hint = hint


def retry_after(headers: HeaderLookup, wall_clock: Callable[[], float]) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait; None without a usable one."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    # Here: `email.utils` costs a networked command 30 ms of imports, and a date is rare.
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - wall_clock())


def delay(
    attempt: int,
    asked: float | None,
    *,
    backoff: float,
    cap: float,
    rng: random.Random,
) -> float:
    """Seconds to sleep after failed ``attempt`` (1-based): what the server ``asked`` (capped),
    else ``backoff`` doubled per attempt plus up to ``backoff`` of jitter, capped."""
    if asked is not None:
        return min(asked, cap)
    base: float = backoff * 2.0 ** (attempt - 1)
    return min(base + rng.uniform(0, backoff), cap)
