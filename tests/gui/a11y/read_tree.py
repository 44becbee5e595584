"""Read an application's accessibility tree through AT-SPI, as Orca would (system Python + pyatspi).

Prints one JSON line per label, status bar child and page tab: role, name, description.
Usage: /usr/bin/python3 read_tree.py APP_NAME
"""

import json
import sys
import time

import pyatspi


def find_app(name, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        desktop = pyatspi.Registry.getDesktop(0)
        for i in range(desktop.childCount):
            app = desktop.getChildAtIndex(i)
            if app is not None and app.name == name:
                return app
        time.sleep(0.2)
    raise SystemExit(f"no application {name!r} on the accessibility bus")


def walk(node, depth=0):
    if node is None or depth > 40:
        return
    role = node.getRoleName()
    if role in ("label", "status bar", "page tab", "menu", "menu item", "push button"):
        print(json.dumps({"role": role, "name": node.name, "description": node.description}), flush=True)
    for i in range(node.childCount):
        walk(node.getChildAtIndex(i), depth + 1)


walk(find_app(sys.argv[1]))
