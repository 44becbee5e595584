"""Show the main window over the fake services in a known state, for the AT-SPI reader.

Run under Xvfb with a session bus and the accessibility bus; prints "shown" once painted and
stays until its standard input closes.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[1])]

from fake_services import FakeServices, template_data  # noqa: E402
from PySide6.QtCore import QSettings, QSocketNotifier  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from in10nt_desktop.app.connection import ConnState  # noqa: E402
from in10nt_desktop.ui.main_window import MainWindow  # noqa: E402

app = QApplication([sys.argv[0]])
app.setApplicationName("in10nt-a11y-check")
services = FakeServices()
window = MainWindow(services, QSettings(sys.argv[1], QSettings.Format.IniFormat))  # type: ignore[arg-type]
window.show()
for name in ("alpha", "beta"):
    services.templates.server_changed(template_data(name))
services.connection.go(ConnState.ONLINE, "Connected")
window.message_bar.show_message("error", "Deleting alpha: the engine refused it.", "details")
print("shown", flush=True)
stdin = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
stdin.activated.connect(app.quit)
app.exec()
