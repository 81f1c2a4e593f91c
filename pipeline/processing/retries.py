"""The one retry policy for a recording that failed transiently (GPU out of memory, a busy model
server or warehouse, a file still being written), used by ``callscore score`` and by the flow's
task retries alike."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import TransientRecordingError, WarehouseBusyError

FIRST_DELAY_S = 2.0  # seconds before the second try
BACKOFF_FACTOR = 5.0  # each later wait is this many times longer
RETRIES = 2  # new tries after the first


@dataclass(frozen=True)
class RetryPolicy:
    """``delays_s``: seconds to wait before each new try; its length is the number of retries."""

    delays_s: tuple[float, ...]

    @classmethod
    def backoff(cls, first_delay_s: float = FIRST_DELAY_S, *, retries: int = RETRIES) -> "RetryPolicy":
        """``retries`` waits growing by ``BACKOFF_FACTOR``, from ``first_delay_s`` (2 s: 2, 10)."""
        return cls(tuple(first_delay_s * BACKOFF_FACTOR**n for n in range(retries)))

    def delay_before(self, tried: int) -> float | None:
        """Seconds to wait after ``tried`` failed tries (0-based), or None when none is left."""
        return self.delays_s[tried] if tried < len(self.delays_s) else None


def is_transient(exc: BaseException) -> bool:
    """Whether the same work may succeed on a second try."""
    return isinstance(exc, (TransientRecordingError, WarehouseBusyError))
