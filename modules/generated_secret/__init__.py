from .construct import GeneratedSecret, GeneratedSecretProps, SecretField, value_from

__all__ = ["GeneratedSecret", "GeneratedSecretProps", "SecretField", "value_from"]
