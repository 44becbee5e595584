"""The templates table: a thin model over ``TemplateStore`` rows, and its filter/sort proxy."""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

from in10nt_desktop.app.drift_service import DriftStore
from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore

Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    NAME = 0
    IMAGE = 1
    REGISTRY = 2
    STATUS = 3
    CREATED = 4
    ID = 5


HEADERS = {Column.NAME: "Name", Column.IMAGE: "Image", Column.REGISTRY: "Registry", Column.STATUS: "Status",
           Column.CREATED: "Created", Column.ID: "Template ID"}
ROW_ROLE = Qt.ItemDataRole.UserRole          # the TemplateRow itself
_DISPLAY, _TOOLTIP, _ACCESSIBLE, _ROW = (int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.ToolTipRole),
                                         int(Qt.ItemDataRole.AccessibleTextRole), int(ROW_ROLE))
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_ANSWERED = frozenset((_DISPLAY, _TOOLTIP, _ACCESSIBLE, _ROW, _DECORATION))
_NAME, _IMAGE, _REGISTRY, _STATUS, _CREATED = (int(Column.NAME), int(Column.IMAGE), int(Column.REGISTRY),
                                               int(Column.STATUS), int(Column.CREATED))
STATUS_ORDER = {"building": 0, "failed": 1, "ready": 2}
DRIFT_MARK = "base image updated since build"


class TemplatesModel(QAbstractTableModel):
    def __init__(self, store: TemplateStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        store.about_to_reset.connect(self.beginResetModel)
        store.reset_done.connect(self.endResetModel)
        store.about_to_append.connect(lambda first, last: self.beginInsertRows(QModelIndex(), first, last))
        store.appended.connect(self._on_appended)
        store.about_to_remove.connect(lambda row: self.beginRemoveRows(QModelIndex(), row, row))
        store.removed.connect(self.endRemoveRows)
        store.rows_changed.connect(self._on_rows_changed)
        store.reset_done.connect(self._resort)
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._drift: DriftStore | None = None
        self._icon: QIcon | None = None

    def set_drift(self, drift: DriftStore) -> None:
        """Mark rows whose tag moved since their build (the Image cell says so)."""
        self._drift = drift
        drift.changed.connect(self._on_drift_changed)

    def _on_drift_changed(self, template_id: str) -> None:
        pos = self._store.position(template_id)
        if pos is not None:
            self.dataChanged.emit(self.index(pos, _NAME), self.index(pos, _IMAGE))

    def _drift_icon(self) -> QIcon:
        if self._icon is None:
            self._icon = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload)
        return self._icon

    # -- sorting: done on the store's rows, not by the proxy --------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order) if 0 <= column < len(Column) else None
        self._resort()

    def _resort(self) -> None:
        if self._sort is None or not self._store.rows:
            return
        column, order = self._sort
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        ids = [(self._store.rows[i.row()].template_id, i.column()) for i in persistent]
        self._store.reorder(_SORT_KEYS[Column(column)], reverse=order == Qt.SortOrder.DescendingOrder)
        moved = []
        for template_id, col in ids:
            pos = self._store.position(template_id)
            moved.append(self.index(pos, col) if pos is not None else QModelIndex())
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def _on_appended(self) -> None:
        self.endInsertRows()
        self._resort()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._store.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def row_at(self, row: int) -> TemplateRow:
        return self._store.rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called ~10 times per visible cell per paint: plain int roles and columns, and an early
        # exit for the roles this model never answers (enum comparisons cost ~1 µs each here).
        if role not in _ANSWERED or not index.isValid():
            return None
        row = self._store.rows[index.row()]
        column = index.column()
        if role == _DECORATION:  # a mark a narrow Image column cannot hide: the tag moved since the build
            if column == _NAME and self._drift is not None and self._drift.drifted(row) is not None:
                return self._drift_icon()
            return None
        if role == _DISPLAY:
            if column == _NAME:
                return row.name
            if column == _IMAGE:
                if self._drift is not None and self._drift.drifted(row) is not None:
                    return f"{row.image}  ⟳ {DRIFT_MARK}"
                return row.image
            if column == _REGISTRY:
                return row.registry_type
            if column == _STATUS:
                return row.status
            if column == _CREATED:
                return row.created_at.astimezone().strftime("%Y-%m-%d %H:%M") if row.created_at else ""
            return row.template_id
        if role == _ROW:
            return row
        if role == _TOOLTIP:
            if column == _STATUS:
                from in10nt_desktop.ui.status_badge import badge_text, is_stalled  # it imports this module
                if row.status == "failed":
                    return f"Failed: {row.error or 'no reason given'}"
                if row.stale:
                    return f"{row.status} (not confirmed by the server lately: it may be offline)"
                if is_stalled(row):  # the engine's sentence: which registry sends nothing, for how long
                    reason = getattr(row.data, "stalled_reason", None) or "no data from the registry"
                    return f"{badge_text(row)}: {reason}. Rebuild it or wait; the build is not failed."
                return badge_text(row) if row.building else row.status
            state = self._drift.drifted(row) if column in (_IMAGE, _NAME) and self._drift is not None else None
            if state is not None:
                return (f"Base image updated since build: {row.image} now points to {state.current_digest[:19]}…; "
                        f"this template was built from {state.built_digest[:19]}…. Rebuild it to use the new "
                        "image.")
            if column in (_IMAGE, _NAME):
                return row.data.description or row.image
            return None
        if column == _STATUS:  # accessible text: what the badge says
            from in10nt_desktop.ui.status_badge import badge_text
            return f"{row.status}: {row.error}" if row.error else badge_text(row)
        if column in (_IMAGE, _NAME) and self._drift is not None and self._drift.drifted(row) is not None:
            return f"{row.name if column == _NAME else row.image}, {DRIFT_MARK}"
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        return None

    def _on_rows_changed(self, rows: list[int]) -> None:
        """``dataChanged`` once per polling tick: selection and scroll position stay where they are.

        One signal per contiguous run of changed rows, each only as tall as that run: the filter
        proxy does not re-filter on data changes (see ``TemplatesFilter``), so a signal costs it
        a mapping, not a pass over 10,000 rows.
        """
        if not rows:
            return
        ordered = sorted(rows)
        runs: list[tuple[int, int]] = []
        start = prev = ordered[0]
        for row in ordered[1:]:
            if row != prev + 1:
                runs.append((start, prev))
                start = row
            prev = row
        runs.append((start, prev))
        # Only the Status cell can change: a template's name, image, registry, creation time and
        # ID are fixed once created. Naming that one column keeps the repaint to the badges.
        for first, last in runs:
            self.dataChanged.emit(self.index(first, _STATUS), self.index(last, _STATUS))
        if self._sort is not None and self._sort[0] == Column.STATUS:
            self._resort()


_SORT_KEYS: dict[Column, Callable[[TemplateRow], Any]] = {
    Column.NAME: lambda r: r.name.lower(),
    Column.IMAGE: lambda r: r.image.lower(),
    Column.REGISTRY: lambda r: r.registry_type,
    Column.STATUS: lambda r: (STATUS_ORDER.get(r.status, 3), r.name.lower()),
    Column.CREATED: lambda r: (r.created_at.timestamp() if r.created_at else 0.0, r.template_id),
    Column.ID: lambda r: r.template_id,
}


class TemplatesFilter(QSortFilterProxyModel):
    """Search over name, image and ID (case-insensitive), plus a status filter.

    Sorting is handed to the source model: a proxy sort calls back into Python twice per
    comparison (650 ms for 10,000 rows here), a key sort of the rows takes a few milliseconds.
    """

    def __init__(self, store: TemplateStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._needle = ""
        self._status: str | None = None
        self._accept: list[bool] | None = None
        # Not dynamic: re-filtering every changed row on every poll is the proxy's biggest cost.
        # Only the status filter depends on data that changes, so re-filter when it is in use.
        self.setDynamicSortFilter(False)
        for signal in (store.about_to_reset, store.about_to_append, store.about_to_remove):
            signal.connect(self._forget)
        store.rows_changed.connect(self._on_rows_changed)

    def _forget(self, *_args: object) -> None:
        self._accept = None

    def _on_rows_changed(self, _rows: list[int]) -> None:
        self._accept = None
        if self._status is not None:
            self.beginFilterChange()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        super().setSourceModel(model)
        model.layoutAboutToBeChanged.connect(self._forget)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)

    def set_search(self, text: str) -> None:
        needle = text.strip().lower()
        if needle != self._needle:
            self.beginFilterChange()
            self._needle, self._accept = needle, None
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_status(self, status: str | None) -> None:
        if status != self._status:
            self.beginFilterChange()
            self._status, self._accept = status, None
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def _matches(self, row: TemplateRow) -> bool:
        if self._status is not None and row.status != self._status:
            return False
        return not self._needle or self._needle in row.search_text

    def _compute(self) -> list[bool]:
        needle, status, rows = self._needle, self._status, self._store.rows
        if status is None:
            return [needle in r.search_text for r in rows]
        if not needle:
            return [r.status == status for r in rows]
        return [r.status == status and needle in r.search_text for r in rows]

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        # Called once per row on every keystroke: keep it to a list lookup (the whole pass is
        # bounded by PySide's per-call cost, ~1 µs a row). The answers are computed in one Python
        # loop, and recomputed whenever the rows move.
        if self._needle == "" and self._status is None:
            return True
        accept = self._accept
        if accept is None:
            accept = self._accept = self._compute()
        try:
            return accept[source_row]
        except IndexError:  # a row appended since the answers were computed
            return self._matches(self._store.rows[source_row])
