"""The create-template wizard's plain pages: name, image and registry type (review: wizard_review.py).

Each input page checks its fields with the engine's own rules (``api.validation``) as you type
and shows the rule's sentence under the field; ``isComplete`` keeps Next disabled while a rule
is broken and ``validatePage`` repeats the check, because ``QWizard.next()`` does not look at
the button. The credentials page, the one page that reads a file, is in ``wizard.py``.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import IntEnum

from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from in10nt_desktop.api.validation import (
    FieldError,
    ImageRef,
    check_name,
    check_registry_fit,
    parse_image,
    registry_type_for,
)
from in10nt_desktop.ui.access_check import AccessRow
from in10nt_desktop.ui.secret_field import FieldMessage, MessageKind

MAX_DESCRIPTION = 2000
PRESETS: tuple[tuple[str, str, str], ...] = (
    ("P&ython 3.11", "Python", "python:3.11-slim"),
    ("N&ode.js 20", "Node.js", "node:20-alpine"),
    ("C&UDA 12.2", "CUDA", "nvidia/cuda:12.2-runtime"),
)
REGISTRY_TYPES: tuple[tuple[str, str], ...] = (
    ("dockerhub", "&Docker Hub"),
    ("private", "&Private registry"),
    ("gcr", "&Google Container Registry or Artifact Registry"),
)
REGISTRY_TYPE_NAMES = {"dockerhub": "Docker Hub", "private": "Private registry",
                       "gcr": "Google Container Registry or Artifact Registry"}


class PageId(IntEnum):
    NAME = 0
    IMAGE = 1
    CREDENTIALS = 2
    REVIEW = 3


def field_column(field: QWidget, message: FieldMessage) -> QWidget:
    """A field with its message underneath, as one cell of a form row."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    layout.addWidget(field)
    layout.addWidget(message)
    box.setFocusProxy(field)
    return box


def buddy_label(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(buddy)
    return label


class NamePage(QWizardPage):
    """Name and description; a name already in use is a warning, not an error."""

    def __init__(self, existing_names: Collection[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._existing = {n.strip().casefold() for n in existing_names}
        self._touched = False
        self.name_edit = QLineEdit()
        self.name_message = FieldMessage()
        self.description_edit = QPlainTextEdit()
        self.description_message = FieldMessage()
        self._build_ui()
        self._refresh()

    def _build_ui(self) -> None:
        self.setTitle("Name the template")
        self.setSubTitle("The name is how you find the template later. The description is optional.")
        self.name_edit.setAccessibleName("Template name")
        self.name_edit.setPlaceholderText("for example ml-env")
        self.description_edit.setAccessibleName("Description")
        self.description_edit.setPlaceholderText("What is this environment for?")
        self.description_edit.setTabChangesFocus(True)
        self.description_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 5)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        page = QVBoxLayout(self)
        page.addLayout(form)
        page.addStretch(1)
        form.addRow(buddy_label("Na&me:", self.name_edit), field_column(self.name_edit, self.name_message))
        form.addRow(buddy_label("&Description:", self.description_edit),
                    field_column(self.description_edit, self.description_message))
        self.name_edit.textChanged.connect(self._on_name_edited)
        self.description_edit.textChanged.connect(self._refresh)

    def name(self) -> str:
        return self.name_edit.text().strip()

    def description(self) -> str | None:
        text = self.description_edit.toPlainText().strip()
        return text or None

    def set_values(self, name: str, description: str | None) -> None:
        self.name_edit.setText(name)
        self.description_edit.setPlainText(description or "")

    def _name_error(self) -> str | None:
        try:
            check_name(self.name())
        except FieldError as err:
            return err.message
        return None

    def _description_error(self) -> str | None:
        length = len(self.description_edit.toPlainText().strip())
        if length > MAX_DESCRIPTION:
            return f"The description is {length} characters long; the limit is {MAX_DESCRIPTION}."
        return None

    def _on_name_edited(self) -> None:
        self._touched = True
        self._refresh()

    def _refresh(self) -> None:
        error = self._name_error()
        if error and self._touched:
            self.name_message.set_message(MessageKind.ERROR, error)
        elif not error and self.name().casefold() in self._existing:
            self.name_message.set_message(
                MessageKind.WARNING,
                f"A template named “{self.name()}” already exists. You can still create this one; "
                "the two are told apart by their IDs.")
        else:
            self.name_message.clear()
        self.name_edit.setAccessibleDescription(self.name_message.text())
        description_error = self._description_error()
        self.description_message.set_message(MessageKind.ERROR, description_error or "")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self._name_error() is None and self._description_error() is None

    def validatePage(self) -> bool:
        self._touched = True
        self._refresh()
        return self.isComplete()


class ImagePage(QWizardPage):
    """Base image and registry type; the type follows the image's host until the user picks one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._manual = False
        self._touched = False
        self.image_edit = QLineEdit()
        self.image_message = FieldMessage()
        self.preset_buttons: list[QPushButton] = []
        self.type_buttons: dict[str, QRadioButton] = {}
        self._type_group = QButtonGroup(self)
        self.follow_button = QPushButton("&Match the image's registry")
        self.type_message = FieldMessage()
        self.access = AccessRow("the image")
        self.access.setVisible(False)  # shown when the server can check images
        self._build_ui()
        self._refresh()

    def _build_ui(self) -> None:
        self.setTitle("Choose the base image")
        self.setSubTitle("Any image from Docker Hub, a private registry or Google's registries. "
                         "Type a reference or start from a preset.")
        presets = QHBoxLayout()
        presets.setContentsMargins(0, 0, 0, 0)
        for text, name, image in PRESETS:
            button = QPushButton(text)
            button.setAccessibleName(f"Use the {name} preset, {image}")
            button.setToolTip(image)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _checked=False, image=image: self.use_preset(image))
            presets.addWidget(button)
            self.preset_buttons.append(button)
        presets.addStretch(1)
        self.image_edit.setAccessibleName("Base image")
        self.image_edit.setPlaceholderText("python:3.11-slim or registry.example.com/team/image:tag")
        types = QVBoxLayout()
        types.setContentsMargins(0, 0, 0, 0)
        types.setSpacing(4)
        for index, (key, text) in enumerate(REGISTRY_TYPES):
            radio = QRadioButton(text)
            radio.setAccessibleName(f"Registry type: {REGISTRY_TYPE_NAMES[key]}")
            self._type_group.addButton(radio, index)
            self.type_buttons[key] = radio
            types.addWidget(radio)
        follow_row = QHBoxLayout()
        follow_row.addWidget(self.follow_button)
        follow_row.addStretch(1)
        self.follow_button.setAutoDefault(False)
        self.follow_button.setAccessibleName("Choose the registry type from the image's host again")
        types.addLayout(follow_row)
        types.addWidget(self.type_message)
        type_box = QWidget()
        type_box.setLayout(types)
        preset_box = QWidget()
        preset_box.setLayout(presets)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # The field first: QWizard focuses a page's first focusable child.
        form.addRow(buddy_label("&Image:", self.image_edit), field_column(self.image_edit, self.image_message))
        form.addRow("Or start from:", preset_box)
        form.addRow(buddy_label("Registry type:", self.type_buttons["dockerhub"]), type_box)
        form.addRow("", self.access)
        self.image_edit.textChanged.connect(self._on_image_edited)
        self._type_group.idClicked.connect(self._on_type_clicked)
        self.follow_button.clicked.connect(self._on_follow_clicked)

    # -- values -------------------------------------------------------------------------------

    def image(self) -> str:
        return self.image_edit.text().strip()

    def registry_type(self) -> str | None:
        checked = self._type_group.checkedId()
        return REGISTRY_TYPES[checked][0] if checked >= 0 else None

    def follows_image(self) -> bool:
        return not self._manual

    def use_preset(self, image: str) -> None:
        """A preset is a whole choice: it also hands the registry type back to the image."""
        self._manual = False
        self.image_edit.setText(image)
        self.image_edit.setFocus()
        self._follow_image()

    def set_values(self, image: str, registry_type: str) -> None:
        """Prefill (retry): the type is manual only if it is not what the image implies."""
        self.image_edit.setText(image)
        ref = self._parsed()
        self._manual = ref is None or registry_type_for(ref) != registry_type
        if registry_type in self.type_buttons:
            self.type_buttons[registry_type].setChecked(True)
        self._refresh()

    # -- rules --------------------------------------------------------------------------------

    def _parsed(self) -> ImageRef | None:
        try:
            return parse_image(self.image())
        except FieldError:
            return None

    def _image_error(self) -> str | None:
        try:
            parse_image(self.image())
        except FieldError as err:
            return err.message
        return None

    def _fit_error(self) -> str | None:
        ref, registry_type = self._parsed(), self.registry_type()
        if ref is None:
            return None
        if registry_type is None:
            return "Choose a registry type."
        try:
            check_registry_fit(ref, registry_type)
        except FieldError as err:
            return err.message
        return None

    def isComplete(self) -> bool:
        return self._parsed() is not None and self.registry_type() is not None and self._fit_error() is None

    def validatePage(self) -> bool:
        self._touched = True
        self._refresh()
        return self.isComplete()

    # -- slots --------------------------------------------------------------------------------

    def _on_image_edited(self) -> None:
        self._touched = True
        self._follow_image()

    def _on_type_clicked(self, _id: int) -> None:
        self._manual = True
        self._refresh()

    def _on_follow_clicked(self) -> None:
        self._manual = False
        self._follow_image()

    def _follow_image(self) -> None:
        ref = self._parsed()
        if not self._manual and ref is not None:
            implied = registry_type_for(ref)
            if implied is not None:
                self.type_buttons[implied].setChecked(True)
        self._refresh()

    def _refresh(self) -> None:
        ref = self._parsed()
        error = self._image_error()
        if ref is not None:
            where = f"{ref.repository} on {ref.registry}"
            self.image_message.set_message(MessageKind.INFO, f"Pulls {where}, {_version(ref)}.")
        elif error and (self._touched or self.image()):
            self.image_message.set_message(MessageKind.ERROR, error)
        else:
            self.image_message.clear()
        self.image_edit.setAccessibleDescription(self.image_message.text())
        fit_error = self._fit_error()
        if fit_error:
            self.type_message.set_message(MessageKind.ERROR, fit_error)
        elif self._manual and ref is not None:
            self.type_message.set_message(MessageKind.INFO, "You chose the registry type.")
        elif ref is not None:
            self.type_message.set_message(MessageKind.INFO, "Chosen from the image's registry host.")
        else:
            self.type_message.clear()
        for radio in self.type_buttons.values():
            radio.setAccessibleDescription(self.type_message.text() if radio.isChecked() else "")
        self.follow_button.setVisible(self._manual)
        self.completeChanged.emit()


def _version(ref: ImageRef) -> str:
    if ref.digest and ref.tag:
        return f"tag {ref.tag} pinned to {ref.digest[:19]}…"
    if ref.digest:
        return f"pinned to {ref.digest[:19]}…"
    return f"tag {ref.tag}" if ref.tag else "tag latest (none given)"
