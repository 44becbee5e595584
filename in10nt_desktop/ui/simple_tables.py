"""Saved templates and instances: small lists, so a plain model reset per load is enough."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from in10nt_desktop.text_formats import human_size

if TYPE_CHECKING:  # the window paints before pydantic is loaded
    from in10nt_desktop.api import InstanceData, SavedTemplate

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex
ROW_ROLE = Qt.ItemDataRole.UserRole


def _when(value: Any) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value is not None else ""


class RowsModel(QAbstractTableModel, Generic[T]):
    """Rows kept by ``key``: a new list with the same keys in the same order changes cells in place
    (an instance going from creating to running keeps its selection); anything else is a reset."""

    def __init__(self, columns: Sequence[tuple[str, Callable[[T], str]]], key: Callable[[T], str],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self.key = key
        self.rows: list[T] = []

    def set_rows(self, rows: list[T]) -> None:
        rows = list(rows)
        if [self.key(r) for r in rows] == [self.key(r) for r in self.rows]:
            changed = [i for i, (old, new) in enumerate(zip(self.rows, rows, strict=True)) if old != new]
            self.rows = rows
            if changed:
                self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), len(self._columns) - 1))
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._columns[index.column()][1](row)
        if role == ROW_ROLE:
            return row
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section][0]
        return None


def saved_templates_model(parent: QObject | None = None) -> RowsModel[SavedTemplate]:
    return RowsModel([
        ("Name", lambda s: s.name),
        ("Size", lambda s: human_size(s.size_bytes)),
        ("Created", lambda s: _when(s.created_at)),
        ("From instance", lambda s: s.source_instance_id or ""),
        ("From template", lambda s: s.container_template_id or ""),
    ], lambda s: s.name, parent)


def instance_source(instance: InstanceData, template_name: Callable[[str], str | None]) -> str:
    """Where an instance came from, as a user names it: the template's name, or the saved template."""
    if instance.saved_template_name:
        return f"saved: {instance.saved_template_name}"
    if instance.container_template_id:
        return template_name(instance.container_template_id) or instance.container_template_id
    return ""


def instances_model(parent: QObject | None = None,
                    template_name: Callable[[str], str | None] = lambda _id: None) -> RowsModel[InstanceData]:
    return RowsModel([
        ("Name", lambda i: i.name),
        ("Status", lambda i: i.status + (f": {i.error}" if i.error else "")),
        ("From", lambda i: instance_source(i, template_name)),
        ("Created", lambda i: _when(i.created_at)),
        ("Instance ID", lambda i: i.instance_id),
    ], lambda i: i.instance_id, parent)
