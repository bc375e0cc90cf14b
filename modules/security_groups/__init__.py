from .construct import SecurityGroups, SecurityGroupsProps

__all__ = ["SecurityGroups", "SecurityGroupsProps"]
