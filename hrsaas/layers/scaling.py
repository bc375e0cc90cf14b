"""scaling: target-tracking autoscaling of every service the compute layer runs (guide §15).

A layer of its own: the scaling knobs (min/max tasks, CPU and memory targets, cooldowns) change
without touching task definitions, and the emulator, which cannot apply Application Auto Scaling
(hrsaas/emulator/gaps.py), still applies the services themselves.
"""

from __future__ import annotations

from modules.service_autoscaling import ServiceAutoscaling, ServiceAutoscalingProps

from ..config import Environment
from ..tf import Construct, Fn, Op
from .base import LayerStack
from .compute import ComputeOutputs


class ScalingStack(LayerStack):
    layer = "scaling"

    def __init__(self, scope: Construct, env: Environment, *, compute: LayerStack):
        super().__init__(scope, env)
        outputs = ComputeOutputs.read(self, compute, ("cluster_name", "released_images"))
        cluster = outputs.cluster_name
        knobs = env.compute
        self.autoscaling = {}
        for svc in env.deployed_services():
            self.autoscaling[svc.name] = ServiceAutoscaling(
                self, svc.name, ServiceAutoscalingProps(
                    cluster_name=cluster, service_name=svc.service_name,
                    min_tasks=svc.min_tasks, max_tasks=svc.max_tasks,
                    # Zero until the service's first release (docs/images.md).
                    released=Op.eq(Fn.lookup(outputs.released_images, svc.name), "true"),
                    cpu_target_percent=knobs.cpu_target_percent,
                    memory_target_percent=knobs.memory_target_percent,
                    scale_out_cooldown_seconds=knobs.scale_out_cooldown_seconds,
                    scale_in_cooldown_seconds=knobs.scale_in_cooldown_seconds,
                ))
