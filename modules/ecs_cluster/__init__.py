from .construct import EcsCluster, EcsClusterProps

__all__ = ["EcsCluster", "EcsClusterProps"]
