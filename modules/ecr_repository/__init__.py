from .construct import EcrRepository, EcrRepositoryProps, lifecycle_policy

__all__ = ["EcrRepository", "EcrRepositoryProps", "lifecycle_policy"]
