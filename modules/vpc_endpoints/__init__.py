from .construct import VpcEndpoints, VpcEndpointsProps

__all__ = ["VpcEndpoints", "VpcEndpointsProps"]
