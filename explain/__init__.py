"""explain package."""
