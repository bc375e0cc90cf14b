"""The database connection budget (SPEC §4).

The guide sums one HikariCP pool per service (105 ≤ max_connections 200). Every task opens its
own pool, so the worst case is Σ pool × max tasks, and a rolling deploy briefly runs up to
``deployment_maximum_percent`` of the desired count. Services without a sized pool still
connect with HikariCP's default pool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .models import Environment


@dataclass(frozen=True)
class ServiceBudget:
    service: str
    pool: int
    pool_is_default: bool
    max_tasks: int
    tasks_during_deploy: int

    @property
    def worst_case(self) -> int:
        return self.pool * self.tasks_during_deploy


@dataclass(frozen=True)
class ConnectionBudget:
    rows: tuple[ServiceBudget, ...]
    max_connections: int
    reserved_connections: int

    @property
    def guide_sum(self) -> int:
        """One pool per service, counting only the pools the catalog sizes (the guide's 105)."""
        return sum(r.pool for r in self.rows if not r.pool_is_default)

    @property
    def steady_state(self) -> int:
        """Σ pool × max tasks: all services scaled out, no deploy running."""
        return sum(r.pool * r.max_tasks for r in self.rows)

    @property
    def worst_case(self) -> int:
        """Σ pool × tasks while every service runs a rolling deploy at max tasks."""
        return sum(r.worst_case for r in self.rows)

    @property
    def available(self) -> int:
        return self.max_connections - self.reserved_connections

    @property
    def holds(self) -> bool:
        return self.worst_case <= self.available

    def report(self) -> str:
        lines = [
            f"{'service':<14}{'pool':>6}{'max tasks':>11}{'in deploy':>11}{'worst':>7}",
        ]
        for r in self.rows:
            pool = f"{r.pool}{'*' if r.pool_is_default else ''}"
            lines.append(
                f"{r.service:<14}{pool:>6}{r.max_tasks:>11}{r.tasks_during_deploy:>11}"
                f"{r.worst_case:>7}"
            )
        lines += [
            f"guide's sum (one pool per sized service): {self.guide_sum}",
            f"steady state at max tasks:                {self.steady_state}",
            f"worst case during rolling deploys:        {self.worst_case}",
            f"max_connections {self.max_connections} - reserved {self.reserved_connections}"
            f" = {self.available} available -> {'holds' if self.holds else 'DOES NOT HOLD'}",
            "(* = HikariCP default pool: the catalog does not size this service's pool)",
        ]
        return "\n".join(lines)


def connection_budget(env: Environment) -> ConnectionBudget:
    rows = []
    for svc in env.deployed_services():
        if not svc.schemas:
            continue
        pool = svc.pool if svc.pool is not None else env.catalog.hikari_default_pool
        during = math.ceil(svc.max_tasks * env.services.deployment_maximum_percent / 100)
        rows.append(ServiceBudget(svc.name, pool, svc.pool is None, svc.max_tasks, during))
    return ConnectionBudget(
        tuple(rows), env.database.max_connections, env.database.reserved_connections
    )
