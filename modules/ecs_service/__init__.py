from .construct import CapacityShare, EcsService, EcsServiceProps

__all__ = ["CapacityShare", "EcsService", "EcsServiceProps"]
