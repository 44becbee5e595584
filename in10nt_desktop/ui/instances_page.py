"""The Instances tab: a searchable table, and for the selected instance its details and the tasks
run in it, read like a terminal (ui/task_pane.py: output as it is printed, exit codes, failures in red)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from in10nt_desktop.app.task_runs import TaskRun
from in10nt_desktop.ui.row_view import RowView
from in10nt_desktop.ui.simple_tables import ROW_ROLE, RowsModel, instance_source
from in10nt_desktop.ui.task_pane import TaskPane

if TYPE_CHECKING:  # the window paints before pydantic is loaded
    from in10nt_desktop.api import InstanceData


class InstancesPage(QWidget):
    run_requested = Signal()   # the details' "Run task…" button: the window's action asks for the task

    def __init__(self, model: RowsModel[InstanceData], template_name: Callable[[str], str | None],
                 runs: Callable[[str], list[TaskRun]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._template_name = template_name
        self._runs = runs
        self._live = False
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setFilterKeyColumn(-1)  # every column: name, status, template, ID
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._build_ui()
        self._kept: set[str] = set()
        model.modelAboutToBeReset.connect(lambda: setattr(self, "_kept", {model.key(r) for r in self.selected()}))
        model.modelReset.connect(self._restore_selection)
        model.modelReset.connect(self._update_empty)
        model.dataChanged.connect(self._show_current)
        self._update_empty()

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name, template, status or ID")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search instances")
        self.search.textChanged.connect(self._filter)
        layout.addWidget(self.search)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        self.table = RowView()
        self.table.setObjectName("instancesTable")
        self.table.setAccessibleName("Instances")
        self.table.setModel(self.proxy)
        self.table.setAlternatingRowColors(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._show_current)
        column.addWidget(self.table, 1)
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setAccessibleDescription("Instances hint")
        column.addWidget(self.empty)
        splitter.addWidget(left)
        splitter.addWidget(self._build_details())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)

    def _build_details(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(6, 0, 0, 0)
        self.title = QLabel("No instance selected")
        self.title.setStyleSheet("font-weight: bold")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.title)
        form = QFormLayout()
        self.fields: dict[str, QLineEdit] = {}
        for key in ("Status", "From", "Created", "Instance ID"):
            value = QLineEdit()
            value.setReadOnly(True)
            value.setAccessibleName(key)
            self.fields[key] = value
            form.addRow(key, value)
        layout.addLayout(form)
        tasks_row = QHBoxLayout()
        tasks_label = QLabel("Tasks run from this window")
        tasks_row.addWidget(tasks_label, 1)
        self.run_button = QPushButton("Run tas&k…")
        self.run_button.setAccessibleName("Run a task in this instance")
        self.run_button.clicked.connect(self.run_requested)
        tasks_row.addWidget(self.run_button)
        layout.addLayout(tasks_row)
        self.tasks = TaskPane(self._runs)
        self.run_list, self.output = self.tasks.run_list, self.tasks.output
        layout.addWidget(self.tasks, 1)
        return box

    # -- the list --------------------------------------------------------------------------------
    def selected(self) -> list[InstanceData]:
        return [index.data(ROW_ROLE) for index in self.table.selectionModel().selectedRows()]

    def current(self) -> InstanceData | None:
        rows = self.selected()
        return rows[0] if len(rows) == 1 else None

    def set_live(self, live: bool) -> None:
        self._live = live
        self._update_empty()

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self._update_empty()

    def _update_empty(self) -> None:
        if self.model.rowCount() == 0:
            self.empty.setText("No instances. Select a ready template and choose Use template to start one.")
            self.empty.setVisible(self._live)
        elif self.proxy.rowCount() == 0:
            self.empty.setText("No instance matches the search.")
            self.empty.setVisible(True)
        else:
            self.empty.setVisible(False)

    def _restore_selection(self) -> None:
        kept, self._kept = self._kept, set()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if self.model.key(index.data(ROW_ROLE)) in kept:
                self.table.selectionModel().select(index, flags)

    # -- the details -----------------------------------------------------------------------------
    def _show_current(self, *_args: object) -> None:
        instance = self.current()
        self.run_button.setEnabled(instance is not None and instance.status == "running")
        if instance is None:
            self.title.setText("No instance selected")
            for value in self.fields.values():
                value.clear()
            self.tasks.show_instance(None)
            return
        self.title.setText(instance.name)
        created = instance.created_at.astimezone().strftime("%Y-%m-%d %H:%M") if instance.created_at else ""
        for key, text in (("Status", instance.status + (f": {instance.error}" if instance.error else "")),
                          ("From", instance_source(instance, self._template_name)), ("Created", created),
                          ("Instance ID", instance.instance_id)):
            if self.fields[key].text() != text:
                self.fields[key].setText(text)
                self.fields[key].setCursorPosition(0)
        self.tasks.show_instance(instance.instance_id)

    def show_runs(self, instance_id: str) -> None:
        """The task history of ``instance_id`` changed (a run started or ended)."""
        self.tasks.runs_changed(instance_id)

    def show_output(self, instance_id: str, number: int) -> None:
        """A running task of ``instance_id`` printed more."""
        self.tasks.output_appended(instance_id, number)
