"""Rows in display order with a parallel list of their sort keys: placed, found and removed by a
binary search on the key, so no index has to be kept up to date as rows come and go.

Keys are unique (the template ID ends every key): a search finds one row, never a range.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import pairwise
from typing import Any

from in10nt_desktop.app.template_rows import TemplateRow

Key = tuple[Any, ...]
#: Above this many insertion runs in one batch, rows are merged by one sort instead of run by run.
MAX_RUNS = 32


class OrderedRows:
    """Rows in display order with their keys: insert, find and remove by key."""

    __slots__ = ("descending", "keys", "rows")

    def __init__(self, rows: list[TemplateRow], keys: list[Key], descending: bool) -> None:
        self.rows, self.keys, self.descending = rows, keys, descending

    def __len__(self) -> int:
        return len(self.rows)

    def place(self, key: Key) -> int:
        """Where ``key`` is, or would go."""
        keys = self.keys
        if not self.descending:
            return bisect_left(keys, key)
        lo, hi = 0, len(keys)
        while lo < hi:
            mid = (lo + hi) // 2
            if keys[mid] > key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def find(self, key: Key) -> int | None:
        pos = self.place(key)
        return pos if pos < len(self.keys) and self.keys[pos] == key else None

    def runs(self, batch: list[tuple[Key, TemplateRow]]) -> list[tuple[int, list[tuple[Key, TemplateRow]]]]:
        """Where a sorted ``batch`` goes: ``(place, items)`` per contiguous run, front to back; past
        ``MAX_RUNS`` runs, only the first ``MAX_RUNS + 1`` (the batch lands all over: callers sort).
        Keys are unique, so no row of the batch has a key already held."""
        keys = self.keys
        if not keys or not batch:
            return [(0, batch)] if batch else []
        # The common cases, checked in O(1): a page of older rows below the rest, or newer ones above.
        if (batch[0][0] < keys[-1]) if self.descending else (batch[0][0] > keys[-1]):
            return [(len(keys), batch)]
        if (batch[-1][0] > keys[0]) if self.descending else (batch[-1][0] < keys[0]):
            return [(0, batch)]
        # Else one binary search per run, not per row: the rows that go before ``keys[pos]`` are the
        # batch's next ones up to the first that does not (found by a binary search in the batch).
        runs: list[tuple[int, list[tuple[Key, TemplateRow]]]] = []
        start, descending = 0, self.descending
        while start < len(batch) and len(runs) <= MAX_RUNS:
            pos = self.place(batch[start][0])
            end = len(batch)
            if pos < len(keys):
                bound, lo, hi = keys[pos], start + 1, end
                while lo < hi:
                    mid = (lo + hi) // 2
                    if (batch[mid][0] > bound) if descending else (batch[mid][0] < bound):
                        lo = mid + 1
                    else:
                        hi = mid
                end = lo
            runs.append((pos, batch[start:end]))
            start = end
        return runs

    def insert_run(self, pos: int, items: list[tuple[Key, TemplateRow]]) -> None:
        self.keys[pos:pos] = [k for k, _ in items]
        self.rows[pos:pos] = [r for _, r in items]

    def merge(self, batch: list[tuple[Key, TemplateRow]]) -> None:
        """Insert a sorted batch: a slice per run, or one sort when the batch lands all over."""
        runs = self.runs(batch)
        if len(runs) <= MAX_RUNS:
            for pos, items in reversed(runs):  # back to front: earlier places stay valid
                self.insert_run(pos, items)
            return
        self.insert_run(len(self.keys), batch)
        self.resort()

    def resort(self) -> None:
        """Put every row back in key order (after rows were appended out of order): one sort."""
        pairs = sorted(zip(self.keys, self.rows, strict=True), reverse=self.descending)
        self.keys[:], self.rows[:] = [p[0] for p in pairs], [p[1] for p in pairs]

    @staticmethod
    def runs_back_to_front(positions: list[int]) -> list[tuple[int, int]]:
        """``positions`` as ``(first, last)`` runs, the last run first (removing them in that order keeps
        the earlier ones valid)."""
        runs: list[list[int]] = []
        for pos in sorted(positions, reverse=True):
            if runs and runs[-1][0] == pos + 1:
                runs[-1][0] = pos
            else:
                runs.append([pos, pos])
        return [(first, last) for first, last in runs]

    def remove(self, positions: list[int]) -> None:
        if len(positions) > MAX_RUNS:
            gone = set(positions)
            self.keys[:] = [k for i, k in enumerate(self.keys) if i not in gone]
            self.rows[:] = [r for i, r in enumerate(self.rows) if i not in gone]
            return
        for first, last in self.runs_back_to_front(positions):
            del self.keys[first:last + 1], self.rows[first:last + 1]


def merged(batches: list[list[tuple[Key, TemplateRow]]], descending: bool) -> list[tuple[Key, TemplateRow]]:
    """Sorted batches as one sorted batch: joined when each follows the one before (the pages of a
    list, in its order), else sorted again (Python's sort merges the ordered runs it finds)."""
    if len(batches) == 1:
        return batches[0]
    joined = [item for batch in batches for item in batch]
    in_order = all((a[-1][0] > b[0][0]) if descending else (a[-1][0] < b[0][0])
                   for a, b in pairwise(batches) if a and b)
    return joined if in_order else sorted(joined, reverse=descending)
