"""The local In10nt engine: the same HTTP API on 127.0.0.1, doing the work for real. No Qt here."""
