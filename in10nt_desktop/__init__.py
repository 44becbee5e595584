"""In10nt Desktop: desktop app, async SDK, CLI and local engine for In10nt agent environments."""

__version__ = "0.1.0"
