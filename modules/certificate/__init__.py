from .construct import Certificate, CertificateProps

__all__ = ["Certificate", "CertificateProps"]
