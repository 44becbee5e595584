"""A table view of whole rows, where the keys move between rows as a list user expects."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QTableView, QWidget

Action = QAbstractItemView.CursorAction


class RowView(QTableView):
    """Home and End go to the first and last *row* (a plain table goes to the first and last
    column, which in a row-selection table changes nothing the user can see)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)

    def moveCursor(self, action: Action, modifiers: Qt.KeyboardModifier) -> QModelIndex:
        model = self.model()
        if action in (Action.MoveHome, Action.MoveEnd) and model is not None and model.rowCount():
            column = max(0, self.currentIndex().column())
            row = 0 if action == Action.MoveHome else model.rowCount() - 1
            return model.index(row, column)
        return super().moveCursor(action, modifiers)

