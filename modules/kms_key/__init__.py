from .construct import KmsKey, KmsKeyProps, ServiceGrant

__all__ = ["KmsKey", "KmsKeyProps", "ServiceGrant"]
