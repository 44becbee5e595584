"""The start-up baseline: a bare PySide6 QMainWindow with an empty QTableView, painted, then exit.

Prints ``painted <s> after start; max RSS <MB>`` like ``in10nt-desktop --self-test`` does, with
the spawn time passed in ``IN10NT_T0``.
"""

import os
import resource
import sys
import time

from PySide6.QtWidgets import QApplication, QMainWindow, QTableView

app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setCentralWidget(QTableView())
window.resize(1180, 720)
window.show()
window.repaint()
elapsed = time.time() - float(os.environ["IN10NT_T0"])
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"painted {elapsed:.3f} s after start (CPU {time.process_time():.3f} s); max RSS {rss:.0f} MB", flush=True)
