"""A ``GateProxy`` in a process of its own, for benchmarks that measure the app's event loop.

In the bench's own process the proxy's threads (one or two per held connection) would compete
with the measured loop for the GIL; in the real world registry traffic never runs in the app.
Prints ``HOST`` on stdout, opens the gate on a line "open" on stdin, exits on end of input.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


class GateProcess:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._proc = subprocess.Popen([sys.executable, __file__, target_host, str(target_port)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        self.host = self._proc.stdout.readline().strip()

    def open(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write("open\n")
        self._proc.stdin.flush()

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(10)


def _serve(host: str, port: int) -> None:
    from stack.gate_proxy import GateProxy

    gate = GateProxy(host, port)
    print(gate.host, flush=True)
    for line in sys.stdin:
        if line.strip() == "open":
            gate.open()
    gate.close()


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
