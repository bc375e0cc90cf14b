from .construct import FindingRoute, ThreatDetection, ThreatDetectionProps, finding_routes

__all__ = ["FindingRoute", "ThreatDetection", "ThreatDetectionProps", "finding_routes"]
