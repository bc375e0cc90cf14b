from .construct import FlowLogs, FlowLogsProps

__all__ = ["FlowLogs", "FlowLogsProps"]
