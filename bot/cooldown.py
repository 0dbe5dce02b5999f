"""A per-user question budget shared by /ask, mentions and follow-ups."""

from __future__ import annotations

from discord.app_commands import Cooldown


class QuestionCooldown:
    """Allow each user ``rate`` questions per ``per`` seconds, however they ask."""

    def __init__(self, rate: int, per: float):
        self.rate = rate
        self.per = per
        self._buckets: dict[int, Cooldown] = {}

    def retry_after(self, user_id: int) -> float | None:
        """Spend one question of ``user_id``'s budget; return seconds to wait if there is none left."""
        self._forget_idle()
        bucket = self._buckets.setdefault(user_id, Cooldown(self.rate, self.per))
        return bucket.update_rate_limit()

    def _forget_idle(self) -> None:
        # A bucket whose window has passed holds nothing; dropping them keeps memory flat.
        if len(self._buckets) > 1000:
            self._buckets = {u: b for u, b in self._buckets.items() if b.get_tokens() < self.rate}
