"""The ``in10nt`` command line, a thin layer over the async SDK."""
