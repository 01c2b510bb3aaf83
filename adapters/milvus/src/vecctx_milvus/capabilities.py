"""What each Milvus configuration declares (for the generated capability matrix)."""

from vecctx import Capabilities
from vecctx_milvus.common import CAPABILITIES


def declared_capabilities() -> dict[str, Capabilities]:
    return {"Milvus Lite (`milvus:///file.db`) and server (`milvus://host:19530`)": CAPABILITIES}
