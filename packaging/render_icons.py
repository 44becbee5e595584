"""Render resources/icons/in10nt-desktop.svg to the PNG sizes and the Windows .ico the installers use.

    python packaging/render_icons.py        # rewrites resources/icons/hicolor/*/apps/*.png and the .ico

The outputs are committed (the builds do not need Qt's SVG module at build time); run this again
after changing the SVG. PNGs: freedesktop hicolor sizes, also the macOS iconset's source
(packaging/macos/build_app.sh, which also uses the 1024 px one). The .ico holds PNG-compressed
images (Windows Vista and later).
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icons" / "in10nt-desktop.svg"
HICOLOR = ROOT / "resources" / "icons" / "hicolor"
ICO = ROOT / "resources" / "icons" / "in10nt-desktop.ico"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def png_path(size: int) -> Path:
    if size > 512:  # not a hicolor size (its index.theme stops at 512): the macOS iconset's 512@2x only
        return ROOT / "resources" / "icons" / f"in10nt-desktop-{size}.png"
    return HICOLOR / f"{size}x{size}" / "apps" / "in10nt-desktop.png"


def render() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (QImage painting needs one)
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {SVG}")
    for size in PNG_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        out = png_path(size)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out), "PNG"):
            raise SystemExit(f"cannot write {out}")
        print(f"{out.relative_to(ROOT)}: {out.stat().st_size} bytes")


def write_ico() -> None:
    """An ICO file whose entries are PNG images (one per size)."""
    blobs = [(size, png_path(size).read_bytes()) for size in ICO_SIZES]
    header = struct.pack("<HHH", 0, 1, len(blobs))
    offset = 6 + 16 * len(blobs)
    entries, data = b"", b""
    for size, blob in blobs:
        dim = 0 if size >= 256 else size  # 0 means 256
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset + len(data))
        data += blob
    ICO.write_bytes(header + entries + data)
    print(f"{ICO.relative_to(ROOT)}: {ICO.stat().st_size} bytes")


if __name__ == "__main__":
    render()
    write_ico()
