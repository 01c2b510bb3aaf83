"""What each Qdrant configuration declares (for the generated capability matrix)."""

from pathlib import Path

from vecctx import Capabilities
from vecctx_qdrant.client import capabilities_for
from vecctx_qdrant.config import ClientOptions
from vecctx_qdrant.store import EDGE_CAPABILITIES


def declared_capabilities() -> dict[str, Capabilities]:
    return {
        "Qdrant Edge, embedded (`qdrant:///path`, the default)": EDGE_CAPABILITIES,
        "Qdrant server or cluster (`qdrant://host:6333`)": capabilities_for(
            ClientOptions(mode="server", host="h")
        ),
        "qdrant-client local mode (`qdrant+local:///path`)": capabilities_for(
            ClientOptions(mode="local", path=Path("/path"))
        ),
    }
