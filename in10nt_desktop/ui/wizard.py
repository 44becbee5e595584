"""The create-template wizard.

The wizard never talks to the network. Create emits ``draft_ready`` and closes; the main
window sends the request. Pages are listed once here; each page loads in ``initializePage``
and blocks bad input in ``validatePage`` (the Picard way); the draft is built only in
``accept()``.
"""

from __future__ import annotations

from collections.abc import Collection

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QWidget,
    QWizard,
)

from in10nt_desktop.app.drafts import TemplateDraft
from in10nt_desktop.ui.wizard_credentials import CredentialsPage
from in10nt_desktop.ui.wizard_pages import (
    ImagePage,
    NamePage,
    PageId,
    ReviewPage,
)


class CreateTemplateWizard(QWizard):
    """Name → image and registry type → credentials → review; Create hands the draft over."""

    draft_ready = Signal(object)  # TemplateDraft, emitted from accept()

    def __init__(self, existing_names: Collection[str], base_url: str, prefill: TemplateDraft | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._accepted: TemplateDraft | None = None
        self.name_page = NamePage(existing_names)
        self.image_page = ImagePage()
        self.credentials_page = CredentialsPage()
        self.review_page = ReviewPage(base_url)
        self.setPage(PageId.NAME, self.name_page)
        self.setPage(PageId.IMAGE, self.image_page)
        self.setPage(PageId.CREDENTIALS, self.credentials_page)
        self.setPage(PageId.REVIEW, self.review_page)
        self.setWindowTitle("Retry template build" if prefill else "New template")
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Create")
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setMinimumSize(640, 480)
        self.resize(720, 560)
        self.currentIdChanged.connect(self._on_current_id_changed)
        if prefill is not None:
            # Retry: everything but the credentials, which are asked again.
            self.name_page.set_values(prefill.name, prefill.description)
            self.image_page.set_values(prefill.image, prefill.registry_type)

    def _on_current_id_changed(self, _id: int) -> None:
        """QWizard leaves the focus behind when a page's first input is in a hidden panel: move it in."""
        page = self.currentPage()
        focused = QApplication.focusWidget()
        if page is None or (focused is not None and page.isAncestorOf(focused) and focused.isVisible()):
            return
        widget = page.nextInFocusChain()
        while widget is not page and widget is not None:
            if page.isAncestorOf(widget) and widget.isVisible() and widget.isEnabled() \
                    and widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
                widget.setFocus(Qt.FocusReason.TabFocusReason)
                return
            widget = widget.nextInFocusChain()

    def initializePage(self, id: int) -> None:
        if id == PageId.CREDENTIALS:
            self.credentials_page.set_registry_type(self.image_page.registry_type() or "dockerhub")
        elif id == PageId.REVIEW:
            draft = self._build_draft()
            if draft.has_credentials:
                self.review_page.show_draft(draft, self.credentials_page.secret_label(),
                                            self.credentials_page.secret_summary())
            else:
                self.review_page.show_draft(draft, "Credentials", "none (anonymous pull)")
        super().initializePage(id)

    def _build_draft(self) -> TemplateDraft:
        registry_type = self.image_page.registry_type() or "dockerhub"
        username, secret = self.credentials_page.username(), self.credentials_page.secret()
        if username is None or secret is None:
            username, secret = None, None
        return TemplateDraft(name=self.name_page.name(), image=self.image_page.image(),
                             registry_type=registry_type, description=self.name_page.description(),
                             username=username, secret=secret)

    def draft(self) -> TemplateDraft:
        """The draft Create produced (before that, what the pages hold now)."""
        return self._accepted if self._accepted is not None else self._build_draft()

    def accept(self) -> None:
        draft = self._build_draft()
        super().accept()  # QWizard.done() validates the last page first
        if self.result() == QWizard.DialogCode.Accepted:
            self._accepted = draft
            self.credentials_page.clear()
            self.draft_ready.emit(draft)

    def reject(self) -> None:
        self.credentials_page.clear()
        super().reject()
