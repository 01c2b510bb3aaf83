"""The store front: what ``vecctx.connect(url)`` and ``vecctx.connect_async(url)`` return.

:class:`Store` is generated from :class:`AsyncStore` (``vecctx/_async/front.py``) by
``scripts/unasync.py``; both run the same checks and policies over a backend driver
(:mod:`vecctx.contract.driver`).
"""

from __future__ import annotations

from vecctx._async.front import AsyncStore
from vecctx._sync.front import Store

__all__ = ["AsyncStore", "Store"]
