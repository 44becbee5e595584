"""Services between the SDK and the widgets: no widgets here, only QObjects, signals and asyncio tasks."""
