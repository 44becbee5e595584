"""The Saved templates and Instances tabs: a table each, refreshed from the session's signals."""

from __future__ import annotations

from typing import Generic, TypeVar

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QVBoxLayout, QWidget

from in10nt_desktop.ui.row_view import RowView
from in10nt_desktop.ui.simple_tables import ROW_ROLE, RowsModel

T = TypeVar("T")


class ListPage(QWidget, Generic[T]):
    def __init__(self, model: RowsModel[T], accessible_name: str, empty_text: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._live = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = RowView()
        self.table.setAccessibleName(accessible_name)
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.empty = QLabel(empty_text)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setAccessibleDescription(f"{accessible_name} hint")
        layout.addWidget(self.empty)
        # A reset (rows added or removed elsewhere) drops the selection: put it back by key.
        self._kept: set[str] = set()
        model.modelAboutToBeReset.connect(lambda: setattr(self, "_kept", {model.key(r) for r in self.selected()}))
        model.modelReset.connect(self._restore_selection)
        model.modelReset.connect(self._update_empty)
        self._update_empty()

    def _restore_selection(self) -> None:
        kept, self._kept = self._kept, set()
        selection = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row, item in enumerate(self.model.rows):
            if self.model.key(item) in kept:
                selection.select(self.model.index(row, 0), flags)

    def set_live(self, live: bool) -> None:
        """Whether the rows are the server's answer (online): only then may the page say "none"."""
        self._live = live
        self._update_empty()

    def _update_empty(self) -> None:
        self.empty.setVisible(self.model.rowCount() == 0 and self._live)

    def selected(self) -> list[T]:
        out: list[T] = []
        for index in self.table.selectionModel().selectedRows():
            out.append(index.data(ROW_ROLE))
        return out
