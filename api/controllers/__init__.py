"""HTTP controllers: path, guards and dependencies as class attributes; one-line handlers."""
