"""GCR and Artifact Registry credentials the machine already has, so nobody pastes JSON.

Two sources, each offered with its own label: the service-account key file named by
``GOOGLE_APPLICATION_CREDENTIALS`` (used as ``_json_key``), and a short-lived access token from
``gcloud auth print-access-token`` (used as ``oauth2accesstoken``; it lasts about an hour). Plain
blocking functions for a worker thread; the token is returned, never logged or written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

GCLOUD_TIMEOUT = 20.0  # gcloud starts a Python interpreter and may refresh its token over the network
MAX_TOKEN_BYTES = 8 * 1024
KEY_ENV = "GOOGLE_APPLICATION_CREDENTIALS"


class GcrSourceError(Exception):
    """``str(err)`` is the sentence to show."""


@dataclass(frozen=True)
class GcrOffers:
    key_path: str | None      # from GOOGLE_APPLICATION_CREDENTIALS, when set
    gcloud: str | None        # the gcloud program found on PATH


def offers(environ: Mapping[str, str] | None = None) -> GcrOffers:
    env = os.environ if environ is None else environ
    key = env.get(KEY_ENV, "").strip() or None
    if key is not None and key.startswith("~/") and env.get("HOME"):
        key = os.path.join(env["HOME"], key[2:])
    return GcrOffers(os.path.expanduser(key) if key else None, shutil.which("gcloud", path=env.get("PATH")))


def gcloud_token(gcloud: str, environ: Mapping[str, str] | None = None) -> str:
    """An access token from ``gcloud auth print-access-token``, or a sentence saying why not."""
    try:
        done = subprocess.run([gcloud, "auth", "print-access-token"], capture_output=True, timeout=GCLOUD_TIMEOUT,
                              check=False, stdin=subprocess.DEVNULL, env=None if environ is None else dict(environ))
    except subprocess.TimeoutExpired:
        raise GcrSourceError(f"gcloud did not print a token within {GCLOUD_TIMEOUT:g} s.") from None
    except OSError as exc:
        raise GcrSourceError(f"gcloud could not be run: {exc.strerror or exc}.") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = next((line for line in lines if line.startswith("ERROR")), lines[0] if lines else "no reason given")
        raise GcrSourceError(f"gcloud could not print a token: {reason[:200]}")
    token = done.stdout.decode("utf-8", "replace").strip()
    if not token or len(token) > MAX_TOKEN_BYTES or any(c.isspace() for c in token):
        raise GcrSourceError("gcloud printed something that is not an access token.")
    return token
