"""Widgets only: they observe the app layer's stores and call its services; they never do I/O."""
