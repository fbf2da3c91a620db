"""Per-principal token buckets (pure: the caller passes the time)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """`per_s` tokens a second, up to `burst` saved."""

    per_s: float
    burst: float


class RateLimiter:
    """One bucket per key; `take` says how long to wait, 0 when allowed."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._max_keys = max_keys

    def take(self, key: str, rate: Rate, now: float) -> float:
        """Spend one token; return 0 if allowed, else seconds until one is available."""
        tokens, last = self._buckets.get(key, (rate.burst, now))
        tokens = min(rate.burst, tokens + (now - last) * rate.per_s)
        if tokens >= 1:
            self._remember(key, tokens - 1, now)
            return 0.0
        self._remember(key, tokens, now)
        return (1 - tokens) / rate.per_s

    def _remember(self, key: str, tokens: float, now: float) -> None:
        if len(self._buckets) >= self._max_keys and key not in self._buckets:
            # Memory stays bounded under a flood of new keys: forget the full (idle) buckets.
            self._buckets = {k: v for k, v in self._buckets.items() if v[0] < 1}
        self._buckets[key] = (tokens, now)


def parse_rates(raw: str) -> dict[str, Rate]:
    """'ingest=200/2000,officer=2/20' -> per role: rate per second / burst."""
    rates: dict[str, Rate] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        role, _, spec = part.partition("=")
        per_s, _, burst = spec.partition("/")
        rate = Rate(float(per_s), float(burst or per_s))
        if rate.per_s <= 0 or rate.burst < 1:
            raise ValueError(f"{part!r}: the rate must be positive and the burst at least 1")
        rates[role.strip()] = rate
    return rates
