from .construct import ThreatDetection, ThreatDetectionProps

__all__ = ["ThreatDetection", "ThreatDetectionProps"]
