"""The details panel's "Base image" box: is the tag still the image this template was built from?

When the registry says the tag moved, the box says "Base image updated since build" with both
digests and offers **Rebuild now** (the same template built again from the tag: it pins the new
digest, and its build history keeps the old one). Otherwise one line says when it was last checked, with
**Check now**. It shows nothing on a server that cannot check, or for a template not built yet.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from in10nt_desktop.app.drift_service import DriftState
from in10nt_desktop.app.template_rows import TemplateRow
from in10nt_desktop.app.vault_protocols import DriftView
from in10nt_desktop.ui.templates_model import DRIFT_MARK


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


class DriftBox(QFrame):
    recreate_requested = Signal(object)   # TemplateRow: rebuild it in place

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._drift: DriftView | None = None
        self.row: TemplateRow | None = None
        self._failure: tuple[str, str] | None = None  # template id, sentence
        self._checking: str | None = None
        self.headline = QLabel()
        self.built = QLineEdit()
        self.current = QLineEdit()
        self.digests = QWidget()
        self.line = QLabel()
        self.recreate_button = QPushButton("Rebuild no&w")
        self.check_button = QPushButton("Check &now")
        self._build_ui()
        self.setVisible(False)

    def _build_ui(self) -> None:
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Base image")
        bold = QFont(self.headline.font())
        bold.setBold(True)
        self.headline.setFont(bold)
        self.headline.setText(DRIFT_MARK[0].upper() + DRIFT_MARK[1:])
        for label in (self.headline, self.line):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        digests = QFormLayout(self.digests)
        digests.setContentsMargins(0, 0, 0, 0)
        digests.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for edit, caption, name in ((self.built, "Built from:", "Digest the template was built from"),
                                    (self.current, "Tag now:", "Digest the tag points to now")):
            edit.setReadOnly(True)
            edit.setFont(mono)
            edit.setAccessibleName(name)
            digests.addRow(caption, edit)
        self.recreate_button.setAccessibleName("Rebuild the template from the tag's new image")
        self.recreate_button.setToolTip("Builds this template again from what the tag points to now; its build "
                                        "history keeps the old build (credentials are asked only if it used them).")
        self.check_button.setAccessibleName("Check the base image's tag now")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.recreate_button)
        buttons.addWidget(self.check_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addWidget(self.headline)
        layout.addWidget(self.digests)
        layout.addWidget(self.line)
        layout.addLayout(buttons)
        self.recreate_button.clicked.connect(lambda: self.recreate_requested.emit(self.row) if self.row else None)
        self.check_button.clicked.connect(self._on_check)

    def set_drift(self, drift: DriftView) -> None:
        self._drift = drift
        drift.store.changed.connect(self._on_changed)
        # Bound methods, not lambdas: Qt disconnects those when this box is deleted (the services outlive a
        # window), where a lambda would go on calling into a deleted widget.
        drift.store.enabled_changed.connect(self._on_enabled)
        drift.check_failed.connect(self._on_failed)
        drift.checked.connect(self._on_checked)

    def _on_enabled(self, _enabled: bool) -> None:
        self.refresh()

    def _on_checked(self, template_id: str, _info: object) -> None:
        self._on_changed(template_id)

    def show_row(self, row: TemplateRow | None) -> None:
        if row is None or self.row is None or row.template_id != self.row.template_id:
            self._failure, self._checking = None, None
        self.row = row
        self.refresh()

    def _on_check(self) -> None:
        if self._drift is not None and self.row is not None:
            self._checking, self._failure = self.row.template_id, None
            self._drift.check_now(self.row.template_id)
            self.refresh()

    def _on_changed(self, template_id: str) -> None:
        if self.row is not None and template_id == self.row.template_id:
            self._checking = None
            self.refresh()

    def _on_failed(self, template_id: str, sentence: str) -> None:
        if self.row is not None and template_id == self.row.template_id:
            self._checking, self._failure = None, (template_id, sentence)
            self.refresh()

    def state(self) -> DriftState | None:
        if self._drift is None or self.row is None:
            return None
        state = self._drift.store.get(self.row.template_id)
        return state if state is not None and state.applies_to(self.row) else None

    def refresh(self) -> None:
        row, drift = self.row, self._drift
        # Kept in place while a template it was shown for rebuilds (the panel does not jump), with nothing
        # to do until the build ends.
        shown = drift is not None and drift.store.enabled and row is not None and bool(row.data.digest) \
            and row.status in ("ready", "building")
        self.setVisible(shown)
        if not shown or row is None:
            return
        if row.status == "building":
            for widget in (self.headline, self.digests, self.recreate_button):
                widget.setVisible(False)
            self.setAutoFillBackground(False)
            self.line.setText("Base image: checked when this build ends.")
            self.check_button.setEnabled(False)
            return
        state = self.state()
        drifted = state is not None and state.drifted
        self.headline.setVisible(drifted)
        self.digests.setVisible(drifted)
        self.recreate_button.setVisible(drifted)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase if drifted else QPalette.ColorRole.Window)
        self.setAutoFillBackground(drifted)
        if state is not None and drifted:
            for edit, digest in ((self.built, state.built_digest), (self.current, state.current_digest)):
                edit.setText(digest)
                edit.setCursorPosition(0)
            self.check_button.setText("C&heck again")
            line = f"{row.image} points to another image since this template was built (checked " \
                   f"{_when(state.checked_at)}). Rebuild it to build from the new image."
        else:
            self.check_button.setText("Check &now")
            line = f"Base image: up to date (checked {_when(state.checked_at)})." if state is not None \
                else "Base image: not checked yet (checked once a day)."
        if self._checking == row.template_id:
            line = "Asking the registry what the tag points to now…"
        elif self._failure is not None and self._failure[0] == row.template_id:
            line = f"Could not check the tag: {self._failure[1]} The template is shown as it was."
        self.line.setText(line)
        self.check_button.setEnabled(self._checking != row.template_id)
