from .construct import CACHING_OPTIMIZED, SECURITY_HEADERS, CdnSite, CdnSiteProps

__all__ = ["CACHING_OPTIMIZED", "SECURITY_HEADERS", "CdnSite", "CdnSiteProps"]
