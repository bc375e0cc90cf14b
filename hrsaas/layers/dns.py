"""dns: the product's Route 53 zone (guide §12), a layer of its own so a first deploy can stop
between creating the zone and anything that waits on DNS.

ACM's DNS validation (edge) can only succeed once the parent domain delegates to this zone.
When the project creates the zone, the runner applies this layer, checks the delegation with a
public resolver, and stops with the name servers to set at the registrar until it resolves
(``hrsaas.runner.delegation``); nothing hangs on a validation that cannot happen. With an
existing, already delegated zone (``edge.hosted_zone_id``) the layer only hands its ID on.
"""

from __future__ import annotations

import dataclasses

from ..config import Environment
from ..tf import Construct, aws
from .base import LayerStack
from .outputs import LayerOutputs, output


@dataclasses.dataclass(frozen=True)
class DnsOutputs(LayerOutputs):
    zone_id: str = output("Route 53 hosted zone of the domain")
    domain: str = output("the zone's domain")
    name_servers: list[str] = output(
        "the zone's name servers: the registrar's NS records for the domain (a created zone); "
        "empty for an existing zone")


class DnsStack(LayerStack):
    layer = "dns"

    def __init__(self, scope: Construct, env: Environment):
        super().__init__(scope, env)
        edge = env.edge
        if edge.hosted_zone_id:
            zone_id, name_servers = edge.hosted_zone_id, []
        else:
            zone = aws.route53_zone.Route53Zone(
                self, "zone", name=edge.domain, comment=f"{env.project} {env.name}",
                force_destroy=env.is_emulated,
            )
            zone_id, name_servers = zone.zone_id, zone.name_servers
        self.outputs = DnsOutputs(zone_id=zone_id, domain=edge.domain,
                                  name_servers=name_servers).export(self)
