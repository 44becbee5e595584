"""Build history and rebuilds in the window (fast tier, fake services): the Builds tab, Rebuild in
place (credentials asked only when the last build used them), copy as code with placeholders."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from fake_services import FakeServices, fake_window, template_data
from gui_helpers import collect_qt_garbage, ini_settings, wait_until  # noqa: F401 - autouse fixture
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLineEdit, QMessageBox

from in10nt_desktop.api.models import BuildRecord
from in10nt_desktop.ui.main_window import MainWindow
from in10nt_desktop.ui.secret_field import MessageKind
from in10nt_desktop.ui.templates_model import Column
from in10nt_desktop.ui.wizard_pages import PageId

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def window(tmp_path: Path) -> AsyncIterator[tuple[MainWindow, FakeServices]]:
    async with fake_window(tmp_path) as pair:
        yield pair


def record(number: int, result: str, trigger: str, error: str | None = None) -> BuildRecord:
    return BuildRecord.model_validate({
        "buildId": f"bld_{number}", "number": number, "trigger": trigger, "result": result, "error": error,
        "queuedAt": "2026-12-01T10:00:00Z", "startedAt": "2026-12-01T10:00:01Z",
        "finishedAt": "2026-12-01T10:00:13Z", "digest": "sha256:" + "a" * 64 if result == "ready" else None,
        "phases": [{"name": "queued", "seconds": 1.0}, {"name": "resolving", "seconds": 0.4},
                   {"name": "pulling", "seconds": 11.0}, {"name": "finishing", "seconds": 0.6}],
        "layers": [{"digest": "sha256:" + "b" * 64, "sizeBytes": 3_000_000, "bytesDone": 3_000_000,
                    "state": "done", "seconds": 10.5},
                   {"digest": "sha256:" + "c" * 64, "sizeBytes": 800_000, "state": "already present"}],
        "logFrom": 1 if number == 1 else 10, "logTo": 9 if number == 1 else 20})


async def test_a_failed_build_is_rebuilt_in_place_without_a_question(window) -> None:
    win, services = window
    failed = template_data("missing-tag", "failed", error="No tag 9 in library/busybox.")
    services.templates.server_changed(failed)
    win.templates_page.select(failed.template_id)
    assert win.actions_["retry"].isEnabled() and win.actions_["retry"].text() == "Re&build"
    win.actions_["retry"].trigger()
    assert services.templates.rebuilds == [(failed.template_id, None)]
    assert len(services.templates.store) == 1  # the same row, building again: no duplicate
    assert services.templates.store.get(failed.template_id).status == "building"
    assert win.wizard is None


async def test_a_private_build_asks_only_for_the_credentials_prefilled(window) -> None:
    win, services = window
    private = template_data("trainer", "failed", image="registry.example.com/ml/trainer:1",
                            registryType="private", needsCredentials=True, registryUsername="ci-bot",
                            error="Credentials rejected by registry.example.com.")
    services.templates.server_changed(private)
    win.templates_page.select(private.template_id)
    win.actions_["retry"].trigger()
    await wait_until(lambda: win.wizard is not None and win.wizard.isVisible(), 5)
    wizard = win.wizard
    assert wizard is not None and wizard.currentId() == PageId.CREDENTIALS  # straight to what is missing
    assert wizard.windowTitle() == "Rebuild with credentials"
    panel = wizard.credentials_page.panel()
    assert panel.username_edit.text() == "ci-bot"
    secrets = [e for e in wizard.findChildren(QLineEdit) if e.echoMode() == QLineEdit.EchoMode.Password]
    assert all(e.text() == "" for e in secrets)  # the engine never kept a password: asked again
    # The username is there already: the typing starts where something is missing.
    await wait_until(lambda: isinstance(wizard.focusWidget(), QLineEdit), 5)
    focused = wizard.focusWidget()  # the wizard's own focus (offscreen, its window need not be active)
    assert focused is not panel.username_edit and isinstance(focused, QLineEdit) and not focused.text()
    assert "rebuild request" in wizard.credentials_page.remember_note
    # What is missing is said as a hint, not in red: nothing was typed yet. Typed, then erased, it is an error.
    message = panel.secret_field._message
    assert message.text() and message.kind() is MessageKind.INFO
    focused.setText("x")
    focused.setText("")
    assert message.text() and message.kind() is MessageKind.ERROR
    panel.secret_field.set_use_env(False)
    for edit in secrets:
        if edit.isVisible():
            edit.setText("new-token")
    wizard.next()
    review = wizard.review_page
    assert review.title() == "Review and rebuild" and "Rebuild" in review.subTitle()
    # Its code rebuilds the same template: running it must not make a second row.
    assert review.code_views["cli"].toPlainText() == \
        f"in10nt templates rebuild {private.template_id} --username ci-bot --password-env REGISTRY_PASS"
    assert f"client.templates.rebuild({private.template_id!r}" in review.code_views["python"].toPlainText()
    assert f"/container-templates/{private.template_id}/rebuild" in review.code_views["curl"].toPlainText()
    wizard.accept()
    await wait_until(lambda: services.templates.rebuilds, 5, "the rebuild was never asked for")
    (tid, draft), = services.templates.rebuilds
    assert tid == private.template_id and draft is not None and draft.username == "ci-bot"
    assert len(services.templates.store) == 1


async def test_rebuild_is_offered_for_a_stalled_build_and_never_for_a_healthy_one(window) -> None:
    """Issue 9: a stalled build is flagged with Retry offered (the engine stops it first)."""
    win, services = window
    started = (datetime.now(UTC) - timedelta(seconds=75)).isoformat()
    healthy = template_data("slow-pull", "building", phase="pulling", startedAt=started)
    services.templates.server_changed(healthy)
    win.templates_page.select(healthy.template_id)
    rebuild = win.actions_["retry"]
    await wait_until(lambda: win.templates_page.current_row() is not None, 5)
    assert not rebuild.isEnabled()  # a healthy build is never cut by accident

    reason = "stalled: no data from registry registry.example.com for 60 s"
    services.templates.server_changed(healthy.model_copy(update={"stalled": True, "stalled_reason": reason}))
    await wait_until(rebuild.isEnabled, 5, "Rebuild was never offered for the stalled build")
    model = win.templates_page.model
    tip = model.index(model.position(healthy.template_id), Column.STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert re.fullmatch(r"Build stalled while pulling, 1m 1\ds in: no data from registry registry\.example\.com "
                        r"for 60 s\.\nIt has not failed: wait for the registry, or Rebuild \(Ctrl\+R\) to stop "
                        r"it and start it again\.", tip), tip
    assert tip.lower().count("stalled") == 1  # said once, not "stalled · pulling · 1m 15s: stalled: …"

    # The engine stops the stalled build first: asked before, and a No sends nothing.
    for choice in ("Cancel", "Stop and rebuild"):
        rebuild.trigger()
        await wait_until(lambda: isinstance(win.findChild(QMessageBox, "confirmStopStalled"), QMessageBox)
                         and win.findChild(QMessageBox, "confirmStopStalled").isVisible(), 5, "not asked")
        box = win.findChild(QMessageBox, "confirmStopStalled")
        assert "slow-pull" in box.text() and "no data from registry registry.example.com" in box.informativeText()
        assert services.templates.rebuilds == []
        next(b for b in box.buttons() if b.text().replace("&", "") == choice).click()
        await wait_until(lambda: win.findChild(QMessageBox, "confirmStopStalled") is None, 5, "still asking")
    await wait_until(lambda: services.templates.rebuilds, 5, "the rebuild was never asked for")
    assert services.templates.rebuilds == [(healthy.template_id, None)]
    fresh = services.templates.store.get(healthy.template_id)
    assert fresh is not None and fresh.building and not fresh.stalled
    await wait_until(lambda: not rebuild.isEnabled(), 5, "Rebuild stayed offered for the new, healthy build")

    # A stalled private build asks for the credentials first, as a failed one does.
    private = template_data("private-stalled", "building", image="registry.example.com/ml/trainer:1",
                            registryType="private", needsCredentials=True, registryUsername="ci-bot",
                            phase="resolving", startedAt=started, stalled=True, stalledReason=reason)
    services.templates.server_changed(private)
    win.templates_page.select(private.template_id)
    await wait_until(rebuild.isEnabled, 5, "Rebuild was never offered for the stalled private build")
    rebuild.trigger()
    await wait_until(lambda: win.wizard is not None and win.wizard.isVisible(), 5)
    assert win.wizard is not None and win.wizard.currentId() == PageId.CREDENTIALS
    assert services.templates.rebuilds == [(healthy.template_id, None)]  # nothing sent without them


async def test_a_stalled_build_that_finishes_while_asked_is_not_built_again(window) -> None:
    """The user reads "Stop the stalled build and build it again?"; meanwhile the registry answered and the
    build ended ready. "Stop and rebuild" then has nothing to stop: a second build of a ready template is
    not what was asked."""
    win, services = window
    started = (datetime.now(UTC) - timedelta(seconds=75)).isoformat()
    stalled = template_data("slow-pull", "building", phase="pulling", startedAt=started, stalled=True,
                            stalledReason="stalled: no data from registry registry.example.com for 60 s")
    services.templates.server_changed(stalled)
    win.templates_page.select(stalled.template_id)
    rebuild = win.actions_["retry"]
    await wait_until(rebuild.isEnabled, 5, "Rebuild was never offered for the stalled build")
    rebuild.trigger()
    await wait_until(lambda: isinstance(win.findChild(QMessageBox, "confirmStopStalled"), QMessageBox), 5, "not asked")
    services.templates.server_changed(template_data("slow-pull", "ready").model_copy(
        update={"template_id": stalled.template_id}))
    box = win.findChild(QMessageBox, "confirmStopStalled")
    next(b for b in box.buttons() if b.text().replace("&", "") == "Stop and rebuild").click()
    await wait_until(lambda: "finished" in win.statusBar().currentMessage(), 5, "nothing was said")
    assert services.templates.rebuilds == []


async def test_copy_as_code_of_a_private_template_carries_the_credentials_as_placeholders(window) -> None:
    win, services = window
    private = template_data("trainer", "ready", image="registry.example.com/ml/trainer:1",
                            registryType="private", needsCredentials=True, registryUsername="ci-bot")
    services.templates.server_changed(private)
    win.templates_page.select(private.template_id)
    snippets = win.templates_page.details.snippets
    cli = snippets["cli"].toPlainText()
    assert "--username ci-bot --password-env REGISTRY_PASS" in cli
    assert "registry_auth=RegistryAuth(username='ci-bot', password=os.environ['REGISTRY_PASS'])" \
        in snippets["python"].toPlainText()
    assert '"\'"$REGISTRY_PASS"\'"' in snippets["curl"].toPlainText()
    details = win.templates_page.details
    details.code_tabs.setCurrentIndex(1)  # the CLI
    details.copy_button.click()
    assert QGuiApplication.clipboard().text() == cli and details.copy_button.text() == "Copied to the clipboard"
    await wait_until(lambda: details.copy_button.text() == "&Copy code", 5)  # said for a moment only


async def test_the_builds_tab_lists_every_build_with_phases_layers_and_its_log(window) -> None:
    win, services = window
    data = template_data("python-ml", "ready", buildCount=2)
    services.templates.records[data.template_id] = [record(2, "ready", "rebuild"),
                                                    record(1, "failed", "create", "No tag 9.")]
    services.templates.logs = {"bld_2": ["10:00:01  Build started", "10:00:13  Ready"],
                               "bld_1": ["10:00:01  Build failed: No tag 9."]}
    services.templates.server_changed(data)
    win.templates_page.select(data.template_id)
    builds = win.templates_page.details.builds
    assert [builds.records.item(i).text().split(" · ")[:2] for i in range(builds.records.count())] == \
        [["#2 rebuild", "ready"], ["#1 create", "failed"]]
    assert builds.timeline.toolTip() == "queued 1.0 s, resolving 0.4 s, pulling 11.0 s, finishing 0.6 s"
    assert "pulled in 10.5 s" in builds.layers.text() and "already present" in builds.layers.text()
    assert builds.log.toPlainText().endswith("Ready")
    builds.records.setCurrentRow(1)  # the old failure is kept in the history
    assert "No tag 9." in builds.summary.text()
    assert builds.log.toPlainText() == "10:00:01  Build failed: No tag 9."


def running_record(number: int) -> BuildRecord:
    """A build in its pulling phase: that phase has a start and no end yet."""
    started = (datetime.now(UTC) - timedelta(seconds=7)).isoformat()
    return BuildRecord.model_validate({
        "buildId": f"bld_{number}", "number": number, "trigger": "rebuild", "result": "building",
        "queuedAt": started, "startedAt": started,
        "phases": [{"name": "queued", "seconds": 0.0}, {"name": "resolving", "seconds": 0.5},
                   {"name": "pulling", "startedAt": started}],
        "layers": [{"digest": "sha256:" + "b" * 64, "sizeBytes": 3_000_000, "bytesDone": 1_200_000,
                    "state": "pulling"}], "logFrom": 21})


async def test_after_a_rebuild_the_builds_tab_shows_the_new_build_and_follows_it_while_it_runs(window) -> None:
    win, services = window
    data = template_data("python-ml", "failed", buildCount=1, error="No tag 9.")
    services.templates.records[data.template_id] = [record(1, "failed", "create", "No tag 9.")]
    services.templates.server_changed(data)
    win.templates_page.select(data.template_id)
    details, builds = win.templates_page.details, win.templates_page.details.builds
    details.tabs.setCurrentWidget(builds)
    assert "Result: failed" in builds.summary.text()
    # Rebuilt: the engine now lists the running build first. The tab shows it, not the old failure.
    services.templates.records[data.template_id] = [running_record(2), record(1, "failed", "create", "No tag 9.")]
    started = (datetime.now(UTC) - timedelta(seconds=7)).isoformat()
    services.templates.server_changed(template_data("python-ml", "building", templateId=data.template_id,
                                                    buildCount=2, phase="pulling", expectedSeconds=30.0,
                                                    startedAt=started))
    assert builds.records.currentRow() == 0
    assert builds.summary.text().startswith("Result: building · pulling")
    assert "left" in builds.summary.text()  # the badge's estimate, which a record cannot make itself
    # The phase under way is drawn for the time it has run, not as 0 s.
    pulling = dict(builds.timeline.phases())["pulling"]
    assert pulling >= 6.0
    # While it runs and the tab is on screen, its record is asked again (bytes and log move).
    asked = len(services.templates.builds_asked)
    await wait_until(lambda: len(services.templates.builds_asked) > asked, 5, "the running build was not followed")


async def test_a_build_record_never_widens_the_details_panel(window) -> None:
    win, services = window
    data = template_data("python-ml", "ready", buildCount=1)
    services.templates.records[data.template_id] = [record(1, "ready", "create")]
    services.templates.server_changed(data)
    win.templates_page.select(data.template_id)
    builds = win.templates_page.details.builds
    assert "sha256:aaaaaaaaaaaa…" in builds.summary.text() and builds.summary.toolTip() == "sha256:" + "a" * 64
    assert builds.summary.minimumSizeHint().width() < 250  # a whole digest made it 512 px: the table shrank


async def test_a_layer_of_a_build_that_ended_is_not_said_to_be_pulling() -> None:
    from in10nt_desktop.api.models import BuildLayer
    from in10nt_desktop.ui.builds_tab import layer_line

    cut = BuildLayer.model_validate({"digest": "sha256:" + "c" * 64, "sizeBytes": 1_100_000, "bytesDone": 323_500,
                                     "state": "pulling"})
    assert layer_line(cut).endswith("323.5 kB of 1.1 MB  pulling")  # while it runs
    assert layer_line(cut, ended=True).endswith("323.5 kB of 1.1 MB  stopped")  # stopped to rebuild, or failed


async def test_a_build_that_starts_to_stall_is_said_once_with_what_to_do(window) -> None:
    win, services = window
    notes: list[tuple[str, str]] = []
    win.notified.connect(lambda title, text: notes.append((title, text)))
    running = template_data("slow-pull", "building", phase="pulling")
    services.templates.server_changed(running)
    stalled = template_data("slow-pull", "building", templateId=running.template_id, phase="pulling", stalled=True,
                            stalledReason="stalled: no data from registry 127.0.0.1:5000 for 60 s")
    services.templates.server_changed(stalled)
    services.templates.server_changed(stalled.model_copy())  # the next tick: still stalled, not news
    assert notes == [("Build stalled", "slow-pull: no data from registry 127.0.0.1:5000 for 60 s. It has not "
                                        "failed: wait for the registry, or Rebuild (Ctrl+R) to stop it and start "
                                        "it again.")]
    assert "Build stalled" in win.statusBar().currentMessage()


async def test_the_base_image_box_stays_in_place_while_its_template_rebuilds(window) -> None:
    win, services = window
    services.drift.store.set_enabled(True)
    data = template_data("python-ml", "ready", digest="sha256:" + "a" * 64, buildCount=1)
    services.templates.server_changed(data)
    win.templates_page.select(data.template_id)
    box = win.templates_page.details.drift_box
    assert box.isVisible() and box.check_button.isEnabled()
    win.actions_["retry"].trigger()  # Rebuild: the row builds again
    assert services.templates.store.get(data.template_id).status == "building"
    # The panel does not jump: the box stays, with nothing to do until the build ends.
    assert box.isVisible() and not box.check_button.isEnabled()
    assert box.line.text() == "Base image: checked when this build ends."
