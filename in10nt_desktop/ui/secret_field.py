"""A secret typed (masked) or named by an environment variable, and the message line under a field.

The seed advises keeping registry credentials in environment variables, so every secret input
offers both. The two modes use two separate line edits: switching to "environment variable"
must never show a typed password in clear text.

``FieldMessage`` lives here because both this widget and the wizard pages put a sentence under
a field the same way: an icon (so colour is not the only signal) and text coloured from the
palette.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from enum import Enum

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from in10nt_desktop.api.validation import FieldError
from in10nt_desktop.app.drafts import SecretSource

_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class MessageKind(Enum):
    NONE = "none"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def error_color(palette: QPalette) -> QColor:
    """The colour for error text on this palette.

    QPalette has no error role, so this takes red at a lightness that reads on the palette's
    window colour: darker on a light theme, lighter on a dark one.
    """
    window = palette.color(QPalette.ColorRole.Window)
    return QColor.fromHslF(0.0, 0.75, 0.68 if window.lightnessF() < 0.5 else 0.40)


class FieldMessage(QWidget):
    """One sentence about a field: empty, information, a warning or an error."""

    _ICONS = {
        MessageKind.INFO: QStyle.StandardPixmap.SP_MessageBoxInformation,
        MessageKind.WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
        MessageKind.ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical,
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._kind = MessageKind.NONE
        self._icon = QLabel(self)
        self._text = QLabel(self)
        self._build_ui()
        self.set_message(MessageKind.NONE, "")

    def _build_ui(self) -> None:
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        side = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self._icon.setFixedSize(QSize(side, side))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._text, 1)

    def kind(self) -> MessageKind:
        return self._kind

    def text(self) -> str:
        return self._text.text()

    def set_message(self, kind: MessageKind, text: str) -> None:
        if not text:
            kind = MessageKind.NONE
        self._kind = kind
        self._text.setText(text)
        self._apply_style()
        self.setVisible(kind is not MessageKind.NONE)

    def clear(self) -> None:
        self.set_message(MessageKind.NONE, "")

    def _apply_style(self) -> None:
        icon_kind = self._ICONS.get(self._kind)
        if icon_kind is None:
            self._icon.clear()
        else:
            side = self._icon.width()
            self._icon.setPixmap(self.style().standardIcon(icon_kind).pixmap(side, side))
        palette = QPalette(self.palette())
        if self._kind is MessageKind.ERROR:
            palette.setColor(QPalette.ColorRole.WindowText, error_color(self.palette()))
        self._text.setPalette(palette)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._apply_style()
        super().changeEvent(event)


class SecretField(QWidget):
    """A password or token, typed (masked) or read from a named environment variable.

    ``source()`` is what the draft stores; ``problem()`` is the sentence that blocks using it
    (a bad variable name, an unset variable) and is also shown under the field as you type.
    A page can add its own sentence ("enter the password") with ``set_error``.
    """

    changed = Signal()

    def __init__(self, label: str, parent: QWidget | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        super().__init__(parent)
        self._label = label
        self._environ = environ
        self._external_error = ""
        # Nothing was ever given here: a page's sentence ("enter the password") is said as a hint, not in
        # red — the user has not had the chance yet (a rebuild opens with the username filled in).
        self._touched = False
        # Parented by the layouts, in reading order: that order is the tab order.
        self._typed = QLineEdit()
        self._env = QLineEdit()
        self._stack = QStackedWidget()
        self._use_env = QCheckBox("From an en&vironment variable")
        self._message = FieldMessage()
        self._build_ui()
        self._refresh()

    def _build_ui(self) -> None:
        self._typed.setEchoMode(QLineEdit.EchoMode.Password)
        self._typed.setAccessibleName(self._label)
        self._typed.setPlaceholderText(f"Type the {self._label.lower()}")
        self._env.setAccessibleName(f"{self._label}: environment variable name")
        self._env.setPlaceholderText("Variable name, for example REGISTRY_PASS")
        self._use_env.setAccessibleName(f"Read the {self._label.lower()} from an environment variable")
        self._use_env.setToolTip("The variable is read when the template is created, so the secret never "
                                 "has to be typed.")
        self._stack.addWidget(self._typed)
        self._stack.addWidget(self._env)
        self._stack.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self._stack, 1)
        row.addWidget(self._use_env)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self._message)
        self.setFocusProxy(self._typed)
        # A label's Alt+letter only focuses a buddy that takes focus itself; the proxy then hands it on.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._typed.textChanged.connect(self._on_edited)
        self._env.textChanged.connect(self._on_edited)
        self._use_env.toggled.connect(self._on_mode_toggled)

    # -- what the page reads ------------------------------------------------------------------

    def uses_env(self) -> bool:
        return self._use_env.isChecked()

    def source(self) -> SecretSource | None:
        """The secret as the draft keeps it, or None when nothing was given."""
        if self.uses_env():
            name = self._env.text().strip()
            return SecretSource("env", name) if name else None
        text = self._typed.text()
        return SecretSource("typed", text) if text else None

    def problem(self) -> str | None:
        """Why the given secret cannot be used, as a sentence; None when it can (or none was given)."""
        source = self.source()
        if source is None or source.kind == "typed":
            return None
        if not _ENV_NAME_RE.match(source.value):
            return (f"“{source.value}” is not a valid variable name: use letters, digits and '_', "
                    "not starting with a digit.")
        try:
            source.resolve(os.environ if self._environ is None else self._environ)
        except FieldError as err:
            return err.message
        return None

    def message(self) -> FieldMessage:
        return self._message

    # -- what the page sets -------------------------------------------------------------------

    def set_error(self, text: str) -> None:
        """A page's own sentence about this field (shown when the field has no problem of its own)."""
        if text != self._external_error:
            self._external_error = text
            self._refresh()

    def set_use_env(self, use_env: bool) -> None:
        self._use_env.setChecked(use_env)

    def set_typed(self, text: str) -> None:
        self._typed.setText(text)

    def set_env_name(self, name: str) -> None:
        self._env.setText(name)

    def clear(self) -> None:
        """Forget everything typed (the wizard calls this when it closes)."""
        self._typed.clear()
        self._env.clear()
        self._use_env.setChecked(False)
        self._external_error = ""
        self._touched = False
        self._refresh()

    def line_edit(self) -> QLineEdit:
        """The edit currently shown (for tests and focus)."""
        return self._env if self.uses_env() else self._typed

    # -- slots --------------------------------------------------------------------------------

    def _on_mode_toggled(self, use_env: bool) -> None:
        self._stack.setCurrentWidget(self._env if use_env else self._typed)
        had_focus = self._typed.hasFocus() or self._env.hasFocus()
        self.setFocusProxy(self.line_edit())
        if had_focus:
            self.line_edit().setFocus()
        self._on_edited()

    def _on_edited(self) -> None:
        if self.source() is not None:
            self._touched = True
        self._refresh()
        self.changed.emit()

    def _refresh(self) -> None:
        problem = self.problem()
        source = self.source()
        if problem:
            self._message.set_message(MessageKind.ERROR, problem)
        elif self._external_error:
            self._message.set_message(MessageKind.ERROR if self._touched else MessageKind.INFO, self._external_error)
        elif source is not None and source.kind == "env":
            self._message.set_message(MessageKind.INFO, f"${source.value} is set; it is read when the "
                                                        "template is created.")
        else:
            self._message.clear()
        edit = self.line_edit()
        edit.setAccessibleDescription(self._message.text())
