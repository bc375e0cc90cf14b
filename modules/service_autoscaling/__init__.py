from .construct import ServiceAutoscaling, ServiceAutoscalingProps

__all__ = ["ServiceAutoscaling", "ServiceAutoscalingProps"]
