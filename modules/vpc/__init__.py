from .construct import Vpc, VpcProps

__all__ = ["Vpc", "VpcProps"]
