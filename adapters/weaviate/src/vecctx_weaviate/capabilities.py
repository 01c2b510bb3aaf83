"""What each Weaviate configuration declares (for the generated capability matrix)."""

from vecctx import Capabilities
from vecctx_weaviate._core import capabilities


def declared_capabilities() -> dict[str, Capabilities]:
    return {
        "Weaviate >= 1.33 (`weaviate://host:8080`), not run here": capabilities((1, 33, 0)),
        "Weaviate 1.27-1.32, not run here": capabilities((1, 32, 0)),
    }
