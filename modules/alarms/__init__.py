from .construct import Alarms, AlarmsProps

__all__ = ["Alarms", "AlarmsProps"]
