"""A fixed-capacity ring buffer of typed records with absolute indices (bounded memory)."""

from __future__ import annotations

import numpy as np


class Ring:
    """The last `capacity` records of a numpy structured `dtype`, each with its absolute index
    (0 for the first ever appended). Older records are dropped."""

    def __init__(self, capacity: int, dtype: np.dtype | list) -> None:
        self.capacity = int(capacity)
        self.buf = np.zeros(self.capacity, dtype=dtype)
        self.n = 0
        """Records ever appended; record k lives at k % capacity while k >= n - capacity."""

    def append(self, *values: object) -> int:
        """Append one record (its fields in order); returns its absolute index."""
        self.buf[self.n % self.capacity] = values
        self.n += 1
        return self.n - 1

    @property
    def first(self) -> int:
        """Absolute index of the oldest record kept."""
        return max(0, self.n - self.capacity)

    def get(self, a: int, b: int) -> np.ndarray:
        """Records a..b-1 (clipped to what is kept), oldest first (a copy when they wrap)."""
        a, b = max(a, self.first), min(b, self.n)
        if b <= a:
            return self.buf[:0]
        ia, ib = a % self.capacity, b % self.capacity
        if ia < ib:
            return self.buf[ia:ib]
        return np.concatenate([self.buf[ia:], self.buf[:ib]])

    def window(self) -> np.ndarray:
        """Every record kept, oldest first."""
        return self.get(self.first, self.n)

    def index_at(self, field: str, value: float) -> int:
        """Absolute index of the last kept record whose (increasing) `field` is <= `value`
        (one before the oldest when none is)."""
        rows = self.window()
        if not len(rows):
            return self.n - 1
        return self.first + int(np.searchsorted(rows[field], value, side="right")) - 1
