"""What each Chroma configuration declares (for the generated capability matrix)."""

from vecctx import Capabilities
from vecctx_chroma.common import capabilities


def declared_capabilities() -> dict[str, Capabilities]:
    return {
        "Chroma embedded (`chroma:///path`)": capabilities(max_batch=5461, async_native=False),
        "Chroma over HTTP (`chroma+http://host:8000`)": capabilities(max_batch=5461, async_native=True),
    }
