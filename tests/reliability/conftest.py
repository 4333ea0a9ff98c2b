"""The reliability suite drives real router processes too."""

from tests.e2e.processes import start_router

__all__ = ["start_router"]
