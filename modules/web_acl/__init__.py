from .construct import MANAGED_RULE_GROUPS, WebAcl, WebAclProps

__all__ = ["MANAGED_RULE_GROUPS", "WebAcl", "WebAclProps"]
