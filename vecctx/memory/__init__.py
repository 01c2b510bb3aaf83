"""The in-memory reference backend: the oracle every conformance and differential test compares
against (see :mod:`vecctx.memory.driver`)."""

from vecctx.memory.driver import CAPABILITIES, AsyncMemoryStore, MemoryDriver, MemoryStore

__all__ = ["CAPABILITIES", "AsyncMemoryStore", "MemoryDriver", "MemoryStore"]
