from .construct import AuditTrail, AuditTrailProps

__all__ = ["AuditTrail", "AuditTrailProps"]
