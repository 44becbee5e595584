"""The templates table: one model that owns the order and the filter of the store's rows.

The store holds rows by ID and never orders them; this model keeps the shown rows in display
order with a parallel list of sort keys (unique: the ID ends every key), so a row is found by a
binary search on its key, not by an index to keep up to date. What the store announces becomes
the smallest change Qt knows: a status change is ``dataChanged`` on one cell (or a one-row move
when sorted by status, or one removal when the status filter no longer takes it); a batch of new
rows is one insertion per contiguous run; a search is one pass over the rows in display order
(only over the rows still shown while the text grows) and a reset, after which the page puts
the selection back by ID. While a list loads, new rows are gathered and inserted at most every
``GATHER_MS`` (each insertion makes the view lay out and repaint the whole table, even when the
rows land below the last one on screen); anything else the model is asked or told inserts the
gathered rows first, and so does the end of the load. No proxy model: a ``QSortFilterProxyModel``
calls back into Python once per row per keystroke (~1 µs each), and once per comparison when it sorts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import compress
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore
from in10nt_desktop.text_formats import human_size
from in10nt_desktop.ui.row_order import MAX_RUNS, Key, OrderedRows, merged
from in10nt_desktop.ui.template_cells import DRIFT_MARK as DRIFT_MARK
from in10nt_desktop.ui.template_cells import HEADERS, SORT_KEYS, cell_tooltip, created_text, forget_ages, status_field
from in10nt_desktop.ui.template_cells import Column as Column

if TYPE_CHECKING:  # the vault's module (registry checks) loads with the services, not with this model
    from in10nt_desktop.app.drift_service import DriftStore

Index = QModelIndex | QPersistentModelIndex


ROW_ROLE = Qt.ItemDataRole.UserRole          # the TemplateRow itself
_DISPLAY, _TOOLTIP, _ACCESSIBLE, _ROW = (int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.ToolTipRole),
                                         int(Qt.ItemDataRole.AccessibleTextRole), int(ROW_ROLE))
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_ANSWERED = frozenset((_DISPLAY, _TOOLTIP, _ACCESSIBLE, _ROW, _DECORATION, int(Qt.ItemDataRole.TextAlignmentRole)))
_NAME, _IMAGE, _REGISTRY, _STATUS, _SIZE, _CREATED = (int(Column.NAME), int(Column.IMAGE), int(Column.REGISTRY),
                                                      int(Column.STATUS), int(Column.SIZE), int(Column.CREATED))
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
#: While a list loads, new rows reach the table at most this often: 4 repaints a second instead of one
#: per page slice (100 for 100,000 rows), and still a table that visibly fills (its scroll bar grows).
GATHER_MS = 250
class TemplatesModel(QAbstractTableModel):
    def __init__(self, store: TemplateStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._column = Column.CREATED
        self._descending = True
        self._key = SORT_KEYS[self._column]
        self._needle = ""
        self._status: str | None = None
        self._all = OrderedRows([], [], True)       # every row
        self._shown = self._all                   # the rows that pass the filter (the same object without one)
        store.reset.connect(self._on_reset)
        store.added.connect(self._on_added)
        store.changed.connect(self._on_changed)
        store.removed.connect(self._on_removed)
        store.stale_changed.connect(self._on_stale)
        store.loading_changed.connect(self._on_loading)
        self._gathered: list[list[tuple[Key, TemplateRow]]] = []  # sorted batches not inserted yet
        self._last_insert = -math.inf  # time.monotonic() of the last batch inserted while a load ran
        self._gather = QTimer(self)
        self._gather.setSingleShot(True)
        self._gather.timeout.connect(self.flush)
        self._drift: DriftStore | None = None
        self._icon: QIcon | None = None
        self._now = datetime.now(UTC)
        self._rebuild()

    def tick(self, now: datetime | None = None) -> None:
        """A minute has turned: the Created cells say their age again (Qt repaints only those on screen)."""
        self._now = now or datetime.now(UTC)
        forget_ages()
        if self._shown.rows:
            self.dataChanged.emit(self.index(0, _CREATED), self.index(len(self._shown.rows) - 1, _CREATED),
                                  [Qt.ItemDataRole.DisplayRole])

    def set_drift(self, drift: DriftStore) -> None:
        """Mark rows whose tag moved since their build (the Image cell says so)."""
        self._drift = drift
        drift.changed.connect(self._on_drift_changed)

    def _on_drift_changed(self, template_id: str) -> None:
        pos = self.position(template_id)
        if pos is not None:
            self.dataChanged.emit(self.index(pos, _NAME), self.index(pos, _IMAGE))

    def _drift_icon(self) -> QIcon:
        if self._icon is None:
            self._icon = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload)
        return self._icon

    # -- reading ------------------------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._shown.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def row_at(self, row: int) -> TemplateRow:
        return self._shown.rows[row]

    def position(self, template_id: str) -> int | None:
        """The display row of a template, or None when it is not shown."""
        self.flush()
        row = self._store.get(template_id)
        return None if row is None else self._shown.find(self._key(row))

    def top_rows(self, count: int) -> list[TemplateRow]:
        """The first ``count`` rows in display order, filter aside (what the start-up cache keeps)."""
        self.flush()
        return self._all.rows[:count]

    @property
    def sort_column(self) -> Column:
        return self._column

    @property
    def filtering(self) -> bool:
        return self._shown is not self._all

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called ~10 times per visible cell per paint: plain int roles and columns, and an early
        # exit for the roles this model never answers (enum comparisons cost ~1 µs each here).
        if role not in _ANSWERED or not index.isValid():
            return None
        row = self._shown.rows[index.row()]
        column = index.column()
        drift = self._drift
        if role == _DISPLAY:
            if column == _NAME:
                return row.name
            if column == _IMAGE:
                if drift is not None and drift.drifted(row) is not None:
                    return f"{row.image}  ⟳ {DRIFT_MARK}"
                return row.image
            if column == _REGISTRY:
                return row.registry_type
            if column == _STATUS:
                return row.status
            if column == _SIZE:
                return human_size(row.size_bytes)
            if column == _CREATED:
                return created_text(row, self._now)
            return row.template_id
        if role == _ROW:
            return row
        if role == _ALIGNMENT:
            return _RIGHT if column == _SIZE else None
        if role == _DECORATION:  # a mark a narrow Image column cannot hide: the tag moved since the build
            if column == _NAME and drift is not None and drift.drifted(row) is not None:
                return self._drift_icon()
            return None
        if role == _TOOLTIP:
            return cell_tooltip(row, Column(column), drift)
        if column == _STATUS:  # accessible text: what the badge says
            from in10nt_desktop.ui.status_badge import badge_text
            return f"{row.status}: {row.error}" if row.error else badge_text(row)
        if column in (_IMAGE, _NAME) and drift is not None and drift.drifted(row) is not None:
            return f"{row.name if column == _NAME else row.image}, {DRIFT_MARK}"
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        return None

    # -- order and filter ---------------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(Column):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (Column(column), descending) == (self._column, self._descending):
            return
        self.flush()  # the gathered rows' keys are the old column's
        self._column, self._descending, self._key = Column(column), descending, SORT_KEYS[Column(column)]
        self._relayout(self._rebuild)

    def set_search(self, text: str) -> None:
        needle = text.strip().lower()
        if needle != self._needle:
            narrower = self._needle in needle
            self._needle = needle
            self._refilter(narrower)

    def set_status(self, status: str | None) -> None:
        if status != self._status:
            narrower = self._status is None
            self._status = status
            self._refilter(narrower)

    def _matches(self, row: TemplateRow) -> bool:
        return (self._status is None or getattr(row, status_field(self._status)) == self._status) \
            and self._needle in row.search_text

    def _filtered(self, source: OrderedRows) -> OrderedRows:
        if not self._needle and self._status is None:
            return self._all
        needle, status = self._needle, self._status
        field = attrgetter(status_field(status)) if status is not None else None
        if field is None:
            mask = [needle in r.search_text for r in source.rows]
        elif not needle:
            mask = [field(r) == status for r in source.rows]
        else:
            mask = [field(r) == status and needle in r.search_text for r in source.rows]
        return OrderedRows(list(compress(source.rows, mask)), list(compress(source.keys, mask)), self._descending)

    def _refilter(self, narrower: bool) -> None:
        """One pass over the rows (only the shown ones when the filter only got narrower), then a reset;
        none when a narrower filter kept every row (the first letters typed, usually)."""
        self.flush()
        source = self._shown if narrower else self._all
        shown = self._filtered(source)
        if narrower and len(shown) == len(source):  # the same rows, in the same order: nothing to tell Qt
            self._shown = shown
            return
        self.beginResetModel()
        self._shown = shown
        self.endResetModel()

    def _rebuild(self) -> None:
        rows = list(self._store.by_id.values())
        key = self._key
        pairs = sorted(zip(map(key, rows), rows, strict=True), reverse=self._descending)
        self._all = OrderedRows([p[1] for p in pairs], [p[0] for p in pairs], self._descending)
        self._shown = self._filtered(self._all)

    # -- what the store says ------------------------------------------------------------------------------
    def _on_reset(self) -> None:
        self._gathered.clear()  # the store's rows are read again, these with them
        self._gather.stop()
        self.beginResetModel()
        self._rebuild()
        self.endResetModel()

    def _on_added(self, rows: list[TemplateRow]) -> None:
        key = self._key
        batch = sorted(((key(r), r) for r in rows), reverse=self._descending)
        if self._store.loading:
            wait = GATHER_MS - (time.monotonic() - self._last_insert) * 1000
            if self._gathered or wait > 0:
                self._gathered.append(batch)
                if not self._gather.isActive():
                    self._gather.start(max(0, int(wait)))
                return
            self._last_insert = time.monotonic()
        self._add(batch)

    def flush(self) -> None:
        """Insert the rows gathered during a load now (one insertion for all of them)."""
        if not self._gathered:
            return
        gathered, self._gathered = self._gathered, []
        self._gather.stop()
        self._last_insert = time.monotonic()
        self._add(merged(gathered, self._descending))

    def _on_loading(self, loading: bool) -> None:
        if not loading:
            self.flush()  # the load is over: every row in the table

    def _add(self, batch: list[tuple[Key, TemplateRow]]) -> None:
        if self.filtering:
            self._all.merge(batch)
            batch = [p for p in batch if self._matches(p[1])]
            if not batch:
                return
        self._insert(batch)

    def _insert(self, batch: list[tuple[Key, TemplateRow]]) -> None:
        """Insert a sorted batch into the shown rows: one ``rowsInserted`` per contiguous run, or, when
        the rows land all over the table, one insertion at the end and one layout change."""
        shown = self._shown
        runs = shown.runs(batch)
        if len(runs) <= MAX_RUNS:
            for pos, items in reversed(runs):
                self.beginInsertRows(QModelIndex(), pos, pos + len(items) - 1)
                shown.insert_run(pos, items)
                self.endInsertRows()
            return
        end = len(shown.rows)
        self.beginInsertRows(QModelIndex(), end, end + len(batch) - 1)
        shown.insert_run(end, batch)
        self.endInsertRows()
        self._relayout(shown.resort)

    def _relayout(self, change: Callable[[], None]) -> None:
        """``change`` reorders the shown rows: persistent indexes (selection, current) follow their rows."""
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        kept = [(self._shown.rows[i.row()] if i.isValid() else None, i.column()) for i in persistent]
        change()
        moved = []
        for row, column in kept:
            pos = None if row is None else self._shown.find(self._key(row))
            moved.append(self.index(pos, column) if pos is not None else QModelIndex())
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def _on_removed(self, rows: list[TemplateRow]) -> None:
        self.flush()
        key = self._key
        if self.filtering:
            self._all.remove([p for p in (self._all.find(key(r)) for r in rows) if p is not None])
        positions = [p for p in (self._shown.find(key(r)) for r in rows) if p is not None]
        if not positions:
            return
        if len(positions) > MAX_RUNS:  # many rows, likely all over: one reset (the page restores the selection)
            self.beginResetModel()
            self._shown.remove(positions)
            self.endResetModel()
            return
        for first, last in self._shown.runs_back_to_front(positions):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._shown.keys[first:last + 1], self._shown.rows[first:last + 1]
            self.endRemoveRows()

    def _on_changed(self, pairs: list[tuple[TemplateRow, TemplateRow]]) -> None:
        """Replaced rows: the Status cell repaints; a row moves or leaves only if its key or the filter say so."""
        self.flush()
        key, filtering = self._key, self.filtering
        cells: list[int] = []
        sizes: list[int] = []
        for old, new in pairs:
            old_key, new_key = key(old), key(new)
            if filtering:
                pos = self._all.find(old_key)
                if pos is not None:
                    if old_key == new_key:
                        self._all.rows[pos] = new
                    else:
                        del self._all.keys[pos], self._all.rows[pos]
                        self._all.merge([(new_key, new)])
            shown = self._shown.find(old_key)
            keep = not filtering or self._matches(new)
            if shown is None:
                if keep:
                    self._insert([(new_key, new)])
                continue
            if not keep:
                self.beginRemoveRows(QModelIndex(), shown, shown)
                del self._shown.keys[shown], self._shown.rows[shown]
                self.endRemoveRows()
            elif old_key == new_key:
                self._shown.rows[shown] = new
                cells.append(shown)
                if old.size_bytes != new.size_bytes:  # known once the build resolved the image
                    sizes.append(shown)
            else:
                self._move(shown, new_key, new)
        for pos in cells:
            # Only the Status cell changes on every tick (and Size, once, when the build resolved the
            # image): a template's name, image, registry, creation time and ID are fixed once created.
            # Naming the cell keeps the repaint to one badge.
            cell = self.index(pos, _STATUS)
            self.dataChanged.emit(cell, cell)
        for pos in sizes:
            cell = self.index(pos, _SIZE)
            self.dataChanged.emit(cell, cell)

    def _move(self, source: int, new_key: Key, row: TemplateRow) -> None:
        shown = self._shown
        del shown.keys[source], shown.rows[source]
        target = shown.place(new_key)
        shown.keys.insert(source, new_key)  # back in place until Qt is told
        shown.rows.insert(source, row)
        if target == source:  # sorted by status or size, and still in place: its two cells that change
            self.dataChanged.emit(self.index(source, _STATUS), self.index(source, _SIZE))
            return
        self.beginMoveRows(QModelIndex(), source, source, QModelIndex(), target if target < source else target + 1)
        del shown.keys[source], shown.rows[source]
        shown.keys.insert(target, new_key)
        shown.rows.insert(target, row)
        self.endMoveRows()
        cell = self.index(target, _STATUS)
        self.dataChanged.emit(cell, cell)

    def _on_stale(self, _stale: bool) -> None:
        if self._shown.rows:  # the badges say "(stale)": one signal for the column, Qt repaints what is visible
            self.dataChanged.emit(self.index(0, _STATUS), self.index(len(self._shown.rows) - 1, _STATUS))

