from .construct import SecureBucket, SecureBucketProps

__all__ = ["SecureBucket", "SecureBucketProps"]
