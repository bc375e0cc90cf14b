"""Services waiting for their first image: read from the compute layer's ``released_images``
output after a deploy, and the one command that releases each (docs/images.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..naming import Names


def waiting_services(outputs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Catalog names of the deployed services whose image is still the placeholder."""
    released = next((out.get("released_images") for stack, out in outputs.items()
                     if stack.endswith("-compute")), None) or {}
    return sorted(name for name, flag in released.items() if str(flag) != "true")


def explain(names: Names, waiting: list[str]) -> str:
    if not waiting:
        return ""
    services = ", ".join(f"{name}-service" for name in waiting)
    env = names.env
    return "\n".join([
        f"waiting for their first image (they exist with no task): {services}",
        f"release one: aws ssm put-parameter --overwrite --name "
        f"{names.image_parameter('<name>-service')} --value <repository URL>:<git-sha>",
        "             (the application repository's CI does this with the "
        f"{names.ci_role('publish')} role; docs/images.md)",
        f"then:        hrsaas deploy --env {env}"
        + ("" if env == "local" else f" --confirm {env}")
        + f" --only {env}-compute --only {env}-scaling",
    ])
