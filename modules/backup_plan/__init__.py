from .construct import BackupPlan, BackupPlanProps

__all__ = ["BackupPlan", "BackupPlanProps"]
