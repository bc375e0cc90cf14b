"""The only module that imports CDKTF and the prebuilt AWS bindings.

CDKTF 0.21.0 is final (HashiCorp archived it on 2025-12-10). The community fork, CDK Terrain
(``cdktn`` / ``cdktn-provider-aws``, provider 6.x), keeps the same API: migrating means changing
the imports below and re-pinning, plus the provider-6.x argument changes — see
docs/cdktf-migration.md. Nothing else in the repository imports cdktf directly.

Start-up cost: the bindings' package ``__init__`` imports all 2,135 resource modules (about
45 s on a 2-core machine), although the layers use a few dozen. ``aws`` below is the same
package with its submodules imported on first use: ``aws.vpc.Vpc`` imports ``…provider_aws.vpc``
only. The jsii assembly itself still loads once (``_jsii``), so types and synthesis are
unchanged — tests/test_lazy_bindings.py compares the output with the eager import.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types

from cdktf import (
    App,
    DataTerraformRemoteStateS3,
    Fn,
    LocalBackend,
    Op,
    S3Backend,
    TerraformOutput,
    TerraformResourceLifecycle,
    TerraformSelf,
    TerraformStack,
    Token,
)
from constructs import Construct

_AWS = "cdktf_cdktf_provider_aws"


def _lazy_package(name: str) -> types.ModuleType:
    if name in sys.modules or os.environ.get("HRSAAS_EAGER_BINDINGS") == "1":
        return importlib.import_module(name)
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not installed: run `make setup`")
    package = types.ModuleType(name)
    package.__spec__ = spec
    package.__file__ = spec.origin
    package.__path__ = list(spec.submodule_search_locations)
    package.__package__ = name

    def __getattr__(attr: str) -> types.ModuleType:  # PEP 562: called for missing names
        if attr.startswith("__"):
            raise AttributeError(attr)
        return importlib.import_module(f"{name}.{attr}")

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = package
    return package


aws = _lazy_package(_AWS)

__all__ = [
    "App",
    "Construct",
    "DataTerraformRemoteStateS3",
    "Fn",
    "LocalBackend",
    "Op",
    "S3Backend",
    "TerraformOutput",
    "TerraformSelf",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "Token",
    "aws",
]
