"""The create-template wizard.

The wizard never builds a request itself. Create emits ``draft_ready`` and closes; the main
window sends the request. "Test access" asks the image-check service (``preflight``) and shows
its one-line answer in place; remembered registry logins come from the logins service, the
secret only when a form is about to send it. Pages are listed once here; each page loads in
``initializePage`` and blocks bad input in ``validatePage`` (the Picard way); the draft is built
only in ``accept()``. A failed check never blocks Create: the user may know better.
"""

from __future__ import annotations

from collections.abc import Collection

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QWidget,
    QWizard,
)

from in10nt_desktop.api.validation import FieldError, check_registry_fit, parse_image
from in10nt_desktop.app.code_snippets import CodeTarget
from in10nt_desktop.app.drafts import SecretSource, TemplateDraft
from in10nt_desktop.app.preflight_service import AccessCheck, CheckOutcome
from in10nt_desktop.app.registry_vault import LoginSummary, RegistryLogin, login_host
from in10nt_desktop.app.vault_protocols import LoginsView, PreflightView
from in10nt_desktop.ui.access_check import AccessChecks
from in10nt_desktop.ui.wizard_credentials import CredentialsPage, GcrPanel, PairPanel
from in10nt_desktop.ui.wizard_pages import (
    ImagePage,
    NamePage,
    PageId,
)
from in10nt_desktop.ui.wizard_review import ReviewPage


class CreateTemplateWizard(QWizard):
    """Name → image and registry type → credentials → review; Create hands the draft over."""

    draft_ready = Signal(object)            # TemplateDraft, emitted from accept()
    login_to_remember = Signal(str, str, object, str)  # host, username, SecretSource, image: "Remember" was ticked
    login_used = Signal(str, str)           # host, image: a remembered login went into a create

    def __init__(self, existing_names: Collection[str], target: CodeTarget | str, prefill: TemplateDraft | None = None,
                 parent: QWidget | None = None, *, preflight: PreflightView | None = None,
                 logins: LoginsView | None = None, title: str | None = None) -> None:
        super().__init__(parent)
        self._accepted: TemplateDraft | None = None
        self._logins = logins
        self.checks = AccessChecks(preflight, self)
        self.name_page = NamePage(existing_names)
        self.image_page = ImagePage()
        if isinstance(target, str):  # a server's URL: code that creates there
            target = CodeTarget(target)
        self.credentials_page = CredentialsPage()
        if target.rebuild_of:
            self.credentials_page.request = "rebuild"
        self.review_page = ReviewPage(target)
        self.setPage(PageId.NAME, self.name_page)
        self.setPage(PageId.IMAGE, self.image_page)
        self.setPage(PageId.CREDENTIALS, self.credentials_page)
        self.setPage(PageId.REVIEW, self.review_page)
        if target.rebuild_of:  # the same template built again: only its credentials are asked
            self.setWindowTitle("Rebuild with credentials")
            self.setStartId(PageId.CREDENTIALS)
            self.setButtonText(QWizard.WizardButton.FinishButton, "&Rebuild")
        else:
            self.setWindowTitle(title or ("Retry template build" if prefill else "New template"))
            self.setButtonText(QWizard.WizardButton.FinishButton, "&Create")
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setMinimumSize(640, 480)
        self.resize(760, 600)
        self.currentIdChanged.connect(self._on_current_id_changed)
        self._wire_checks()
        if logins is not None:
            logins.fetched.connect(self._on_login_fetched)
            logins.gcr_offered.connect(self._gcr().set_offers)
            logins.gcloud_token_ready.connect(self._gcr().set_gcloud_token)
            self._gcr().gcloud_requested.connect(logins.gcloud_token)
            logins.find_gcr()
        if prefill is not None:
            # Retry, or create again: everything but the credentials, which are asked again (or remembered).
            self.name_page.set_values(prefill.name, prefill.description)
            self.image_page.set_values(prefill.image, prefill.registry_type)
            panel = self.credentials_page.panels.get(prefill.registry_type)
            if prefill.username and isinstance(panel, PairPanel):  # the login the last build used, no secret
                self.credentials_page.set_registry_type(prefill.registry_type)
                panel.username_edit.setText(prefill.username)

    def _gcr(self) -> GcrPanel:
        panel = self.credentials_page.panels["gcr"]
        assert isinstance(panel, GcrPanel)
        return panel

    # -- "Test access" --------------------------------------------------------------------------------
    def _wire_checks(self) -> None:
        image, credentials, review = self.image_page, self.credentials_page, self.review_page
        image.access.test_requested.connect(lambda: self.checks.now(image.access, self._image_check()))
        credentials.access.test_requested.connect(
            lambda: self.checks.now(credentials.access, self._credentials_check()))
        review.access.test_requested.connect(lambda: self.checks.now(review.access, self._credentials_check()))
        image.image_edit.textChanged.connect(lambda: self._soon_image())
        image._type_group.idClicked.connect(lambda _id: self._soon_image())
        for panel in credentials.panels.values():
            panel.changed.connect(self._soon_credentials)
        credentials.remembered.changed.connect(self._soon_credentials)
        self.checks.availability_changed.connect(self._show_access)
        self._show_access(self.checks.available)

    def _show_access(self, available: bool) -> None:
        self.image_page.access.setVisible(available)
        self.credentials_page.access.setVisible(available)
        self.review_page.show_access(available)

    def _remembered(self, image: str) -> LoginSummary | None:
        if self._logins is None:
            return None
        try:
            return self._logins.login_for(login_host(image))
        except FieldError:
            return None

    def _image_check(self) -> AccessCheck | None:
        """The image page's question: the image as typed, with the remembered login of its host if any."""
        text, registry_type = self.image_page.image(), self.image_page.registry_type()
        try:
            check_registry_fit(parse_image(text), registry_type)
        except FieldError:
            return None
        assert registry_type is not None
        return AccessCheck(text, registry_type, use_login=self._remembered(text) is not None)

    def _credentials_check(self) -> AccessCheck | None:
        page = self.credentials_page
        if self.image_page._parsed() is None or not page.isComplete():
            return None
        registry_type = self.image_page.registry_type() or "dockerhub"
        if page.using_remembered():
            return AccessCheck(self.image_page.image(), registry_type, use_login=True)
        return AccessCheck(self.image_page.image(), registry_type, page.username(), page.secret())

    def _soon_image(self) -> None:
        if self.currentId() == PageId.IMAGE:
            self.checks.soon(self.image_page.access, self._image_check)

    def _soon_credentials(self) -> None:
        if self.currentId() == PageId.CREDENTIALS:
            self.checks.soon(self.credentials_page.access, self._credentials_check)

    def access_outcome(self) -> CheckOutcome | None:
        """The newest check's answer, if it was for what the draft now holds."""
        request = self._credentials_check()
        return self.checks.outcome_for(request) if request is not None else None

    # -- remembered logins ------------------------------------------------------------------------------
    def _on_login_fetched(self, host: str, login: RegistryLogin | None) -> None:
        page = self.credentials_page
        if host == page.host and page.using_remembered():
            page.set_remembered_secret(SecretSource("typed", login.secret) if login is not None else None)
            self._soon_credentials()

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

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.credentials_page.request == "rebuild" and self.currentId() == PageId.CREDENTIALS:
            # A rebuild opens on its credentials with the username filled in: the password is what is asked.
            QTimer.singleShot(0, self, self.credentials_page.focus_secret)

    def initializePage(self, id: int) -> None:
        self.checks.cancel()  # an answer about the page left behind must not land on the next one
        if id == PageId.IMAGE:
            self.checks.now(self.image_page.access, self._image_check())  # a prefilled image is checked at once
        elif id == PageId.CREDENTIALS:
            page = self.credentials_page
            page.set_registry_type(self.image_page.registry_type() or "dockerhub")
            image = self.image_page.image()
            remembered = self._remembered(image)
            host = login_host(image) if self.image_page._parsed() is not None else ""
            logins = self._logins
            page.set_host(host, remembered.username if remembered else None, logins is not None,
                          logins.persistent if logins is not None else True)
            if remembered is not None and logins is not None and page._remembered_secret is None:
                logins.fetch(host)
            self.checks.now(page.access, self._credentials_check())
        elif id == PageId.REVIEW:
            draft = self._build_draft()
            if draft.has_credentials:
                self.review_page.show_draft(draft, self.credentials_page.secret_label(),
                                            self.credentials_page.secret_summary())
            else:
                self.review_page.show_draft(draft, "Credentials", "none (anonymous pull)")
            request = self._credentials_check()
            known = self.checks.outcome_for(request) if request is not None else None
            if known is not None:
                self.review_page.access.show_outcome(known)
            else:
                self.checks.now(self.review_page.access, request)
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
        page = self.credentials_page
        remember = page.remember_wanted()
        used_remembered = page.using_remembered()
        super().accept()  # QWizard.done() validates the last page first
        if self.result() == QWizard.DialogCode.Accepted:
            self._accepted = draft
            self.checks.cancel()
            if remember and draft.username is not None and draft.secret is not None:
                self.login_to_remember.emit(page.host, draft.username, draft.secret, draft.image)
            elif used_remembered:
                self.login_used.emit(page.host, draft.image)
            page.clear()
            self.draft_ready.emit(draft)

    def reject(self) -> None:
        self.checks.cancel()
        self.credentials_page.clear()
        super().reject()
