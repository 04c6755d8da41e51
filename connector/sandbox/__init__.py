"""Sandboxes of ESET and of the marketplace, so the connector runs with no account anywhere.

Both are Flask apps that keep their state in memory and work standalone or mounted under a URL
prefix (``/sandbox/eset``, ``/sandbox/marketplace``). See ``connector/sandbox/README.md``.
"""

from connector.sandbox._eset_world import PartnerSeed
from connector.sandbox.eset import (
    EsetSandbox,
    EsetSandboxConfig,
    create_eset_sandbox,
    eset_sandbox_of,
)
from connector.sandbox.marketplace import (
    SIMPLE_API,
    MarketplaceSandbox,
    MarketplaceSandboxConfig,
    create_marketplace_sandbox,
    marketplace_sandbox_of,
)

__all__ = [
    "SIMPLE_API",
    "EsetSandbox",
    "EsetSandboxConfig",
    "MarketplaceSandbox",
    "MarketplaceSandboxConfig",
    "PartnerSeed",
    "create_eset_sandbox",
    "create_marketplace_sandbox",
    "eset_sandbox_of",
    "marketplace_sandbox_of",
]
