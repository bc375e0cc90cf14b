from .construct import Alb, AlbProps

__all__ = ["Alb", "AlbProps"]
