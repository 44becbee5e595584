"""The Templates tab: search, status filter, the table with its badges, and the details panel."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore
from in10nt_desktop.app.vault_protocols import DriftView
from in10nt_desktop.ui.details_panel import DetailsPanel
from in10nt_desktop.ui.row_view import RowView
from in10nt_desktop.ui.status_badge import StatusBadgeDelegate
from in10nt_desktop.ui.templates_model import ROW_ROLE, Column, TemplatesModel
from in10nt_desktop.ui.window_layout import COLUMN_WIDTHS, SEARCH_HINT

NO_TEMPLATES = "No templates yet. Choose New template (Ctrl+N) to build one from any Docker image."
STATUS_FILTERS = [("All statuses", None), ("Building", "building"), ("  Running", "running"), ("  Queued", "queued"),
                  ("Ready", "ready"), ("Failed", "failed")]


class TemplatesPage(QWidget):
    selection_changed = Signal(list)   # list[TemplateRow]
    activated = Signal(object)         # TemplateRow (double-click / Enter)

    def __init__(self, store: TemplateStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.model = TemplatesModel(store, self)
        self.proxy = self.model  # the table's model (it sorts and filters itself); the old name stays for tests
        self.delegate = StatusBadgeDelegate(self)
        self._build_ui()
        # Spinner and elapsed time: repaint only the visible status cells, and only while something builds.
        self._animation = QTimer(self)
        self._animation.setInterval(120)
        self._animation.timeout.connect(self._animate)
        # "5 min ago" must not stay 5 minutes ago: the Created cells say their age again each minute.
        self._minute = QTimer(self)
        self._minute.setInterval(60_000)
        self._minute.timeout.connect(self.model.tick)
        self._minute.start()
        for signal in (store.added, store.changed, store.removed, store.reset, store.stale_changed,
                       store.loading_changed):
            signal.connect(self._on_store_changed)
        # While a list loads, page slices arrive many times a second: the count is said when the table
        # takes in the rows it gathered (ui/templates_model.py, a few times a second), and at the load's end.
        self.model.rowsInserted.connect(self._on_rows_inserted)
        # A reset (a search, a reload) drops the selection silently: put it back by ID.
        self._kept_selection: list[str] = []
        self._kept_current: str | None = None
        self.model.modelAboutToBeReset.connect(self._keep_selection)
        self.model.modelReset.connect(self._restore_selection)

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText(SEARCH_HINT)
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search templates")
        self.search.textChanged.connect(self.model.set_search)
        self.search.textChanged.connect(self._on_rows_changed)  # "10 of 2,058", or "no match"
        bar.addWidget(self.search, 1)
        status_label = QLabel("St&atus:")
        self.status_filter = QComboBox()
        self.status_filter.setAccessibleName("Status filter")
        status_label.setBuddy(self.status_filter)
        for text, value in STATUS_FILTERS:
            self.status_filter.addItem(text, value)
        self.status_filter.currentIndexChanged.connect(
            lambda i: self.model.set_status(self.status_filter.itemData(i)))
        self.status_filter.currentIndexChanged.connect(self._on_rows_changed)
        bar.addWidget(status_label)
        bar.addWidget(self.status_filter)
        self.count = QLabel()
        # No accessible name: a screen reader reads a label's name instead of its changing text.
        self.count.setAccessibleDescription("Template count")
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(self.count)
        layout.addLayout(bar)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.table = RowView()
        self.table.setObjectName("templatesTable")
        self.table.setAccessibleName("Templates")
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(Column.STATUS, self.delegate)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.CREATED, Qt.SortOrder.DescendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # an image keeps its tag in sight
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 14)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(Column.IMAGE, QHeaderView.ResizeMode.Stretch)
        for column, width in enumerate(COLUMN_WIDTHS):
            if width is not None:
                header.resizeSection(column, width)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(self._on_double_click)
        table_box = QWidget()
        table_column = QVBoxLayout(table_box)
        table_column.setContentsMargins(0, 0, 0, 0)
        table_column.addWidget(self.table, 1)
        self.empty = QLabel(NO_TEMPLATES)
        self.empty.setWordWrap(True)
        self.empty.setAccessibleDescription("Templates hint")
        self.empty.hide()
        table_column.addWidget(self.empty)
        self.splitter.addWidget(table_box)
        self.details = DetailsPanel()
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([880, 440])
        layout.addWidget(self.splitter, 1)

    def set_drift(self, drift: DriftView) -> None:
        """Show tag drift: a mark in the Image column, and the details panel's "Base image" box."""
        self.model.set_drift(drift.store)
        self.details.drift_box.set_drift(drift)

    # -- selection -------------------------------------------------------------------------------
    def selected_rows(self) -> list[TemplateRow]:
        rows = []
        for index in self.table.selectionModel().selectedRows():
            row = index.data(ROW_ROLE)
            if isinstance(row, TemplateRow):
                rows.append(row)
        return rows

    def current_row(self) -> TemplateRow | None:
        index = self.table.currentIndex()
        row = index.data(ROW_ROLE) if index.isValid() else None
        selected = self.selected_rows()
        if isinstance(row, TemplateRow) and any(r.template_id == row.template_id for r in selected):
            return row
        return selected[0] if selected else None

    def _keep_selection(self) -> None:
        self._kept_selection = [r.template_id for r in self.selected_rows()]
        current = self.current_row()
        self._kept_current = current.template_id if current is not None else None

    def _restore_selection(self) -> None:
        kept, self._kept_selection = self._kept_selection, []
        current, self._kept_current = self._kept_current, None
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        for template_id in kept:
            pos = self.model.position(template_id)
            if pos is not None:
                selection.select(self.model.index(pos, 0), self.model.index(pos, last))
        model = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        model.select(selection, flags)
        pos = self.model.position(current) if current else None
        if pos is not None:
            model.setCurrentIndex(self.model.index(pos, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
        self._on_selection()

    def select(self, template_id: str) -> None:
        pos = self.model.position(template_id)
        if pos is None:
            return
        index = self.model.index(pos, 0)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)

    def _on_selection(self, *_args: object) -> None:
        rows = self.selected_rows()
        self.details.show_row(self.current_row())
        self.selection_changed.emit(rows)

    def _on_double_click(self, index: QModelIndex) -> None:
        row = index.data(ROW_ROLE)
        if isinstance(row, TemplateRow):
            self.activated.emit(row)

    # -- live updates ----------------------------------------------------------------------------
    def _on_store_changed(self, *_args: object) -> None:
        if not self.store.loading:
            self._on_rows_changed()

    def _on_rows_inserted(self, *_args: object) -> None:
        if self.store.loading:
            self._on_rows_changed()

    def _on_rows_changed(self, *_args: object) -> None:
        building = self.store.building_count
        total = len(self.store)
        shown = self.model.rowCount()
        filtered = self.model.filtering  # the model already knows whether a search or a status narrows it
        # Only an answer from the server can say "no templates": not while connecting or offline.
        if total == 0 and self.store.loaded and not self.store.stale:
            self.empty.setText(NO_TEMPLATES)
            self.empty.setVisible(True)
        elif total and not shown and filtered:
            self.empty.setText("No template matches the search or the status filter.")
            self.empty.setVisible(True)
        else:
            self.empty.setVisible(False)
        noun = f"template{'s' if total != 1 else ''}"
        text = f"{shown:,} of {total:,} {noun}" if filtered else f"{total:,} {noun}"
        queued = self.store.queued_count if building else 0
        stalled = self.store.stalled_count if building else 0
        if queued:
            text += f", {building - queued:,} running, {queued:,} queued"
        elif building:
            text += f", {building:,} building"
        if stalled:
            text += f" ({stalled:,} stalled)"
        self._set_count(text)
        if building and not self._animation.isActive():
            self._animation.start()
        elif not building:
            self._animation.stop()
        current = self.details.row
        if current is not None:  # keep the details (and the actions) in step with the badge
            fresh = self.store.get(current.template_id)
            if fresh is not None and fresh is not current:
                self.details.show_row(fresh)
                # e.g. "Use template" once it is ready, Rebuild once the build stalls
                if fresh.status != current.status or fresh.stalled != current.stalled:
                    self.selection_changed.emit(self.selected_rows())
            elif fresh is None:
                self.details.show_row(None)
                self.selection_changed.emit(self.selected_rows())

    def _set_count(self, text: str) -> None:
        """The label has a fixed size, grown when a text needs more room (and shrunk when much less
        will do): a label that may change size makes every new text lay the window out again, and
        the tab widget then repaints the whole page, many times a second while a list loads."""
        label = self.count
        if text == label.text():
            return
        label.setText(text)
        hint = label.sizeHint()
        if not hint.width() <= label.maximumWidth() <= hint.width() * 4 // 3 or hint.height() != label.maximumHeight():
            label.setFixedSize(hint)

    def _animate(self) -> None:
        self.delegate.advance()
        viewport = self.table.viewport()
        x = self.table.columnViewportPosition(Column.STATUS)
        viewport.update(x, 0, self.table.columnWidth(Column.STATUS), viewport.height())
