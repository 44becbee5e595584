"""``python -m in10nt_desktop`` opens the desktop app (``python -m in10nt_desktop.cli.main`` is the CLI)."""

import sys

from in10nt_desktop.app.application import main

if __name__ == "__main__":
    sys.exit(main())
