"""What each Qdrant configuration declares (for the generated capability matrix)."""

from vecctx import Capabilities
from vecctx_qdrant._common import capabilities_for
from vecctx_qdrant.config import parse_url

_URLS = {
    "Qdrant Edge, embedded (`qdrant:///path`, the default)": "qdrant:///path",
    "Qdrant server or cluster (`qdrant://host:6333`)": "qdrant://host:6333",
    "qdrant-client local mode (`qdrant+local:///path`)": "qdrant+local:///path",
}


def declared_capabilities() -> dict[str, Capabilities]:
    return {label: capabilities_for(parse_url(url)) for label, url in _URLS.items()}
