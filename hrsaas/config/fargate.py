"""Valid Fargate task sizes (cpu units → allowed memory in MiB), from the ECS documentation."""

from __future__ import annotations


def _gib_range(start: int, stop: int, step: int) -> frozenset[int]:
    return frozenset(gib * 1024 for gib in range(start, stop + 1, step))


FARGATE_SIZES: dict[int, frozenset[int]] = {
    256: frozenset({512, 1024, 2048}),
    512: _gib_range(1, 4, 1),
    1024: _gib_range(2, 8, 1),
    2048: _gib_range(4, 16, 1),
    4096: _gib_range(8, 30, 1),
    8192: _gib_range(16, 60, 4),
    16384: _gib_range(32, 120, 8),
}


def is_valid_fargate_size(cpu_units: int, memory_mib: int) -> bool:
    return memory_mib in FARGATE_SIZES.get(cpu_units, frozenset())


def describe_valid_memory(cpu_units: int) -> str:
    allowed = FARGATE_SIZES.get(cpu_units)
    if allowed is None:
        vcpus = ", ".join(f"{c / 1024:g}" for c in FARGATE_SIZES)
        return f"use a Fargate vCPU size: {vcpus}"
    gibs = ", ".join(f"{m / 1024:g}" for m in sorted(allowed))
    return f"with {cpu_units / 1024:g} vCPU choose memory_gib from: {gibs}"
