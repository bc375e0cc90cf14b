from .construct import StateLockTable, StateLockTableProps

__all__ = ["StateLockTable", "StateLockTableProps"]
