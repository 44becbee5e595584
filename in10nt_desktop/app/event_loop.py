"""The app's asyncio loop on Qt (qasync), with what qasync leaves out: async generator hooks.

asyncio's own loops install ``sys.set_asyncgen_hooks`` while they run, so an async generator
left suspended (an SSE stream whose task was cancelled between two events) is closed *on its
loop*, where its ``finally`` may await. qasync's ``run_forever`` does not, so such a generator
is closed by the garbage collector later, anywhere, with no loop: httpcore's stream then fails
with "async generator ignored GeneratorExit" or "no running event loop". Installing the loop's
own hooks gives qasync the standard behaviour, and ``shutdown_asyncgens()`` closes the rest.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import qasync


def new_event_loop(app: Any) -> Any:  # a qasync.QEventLoop (qasync has no type hints)
    loop = qasync.QEventLoop(app)
    adopt_asyncgen_hooks(loop)
    return loop


def adopt_asyncgen_hooks(loop: asyncio.AbstractEventLoop) -> None:
    # The hooks are BaseEventLoop's (qasync's loop is one); stable since Python 3.6.
    firstiter = getattr(loop, "_asyncgen_firstiter_hook", None)
    finalizer = getattr(loop, "_asyncgen_finalizer_hook", None)
    if firstiter is not None and finalizer is not None:
        sys.set_asyncgen_hooks(firstiter=firstiter, finalizer=finalizer)
