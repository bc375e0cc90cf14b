from .construct import AUDIENCE, ISSUER, GithubOidc, GithubOidcProps

__all__ = ["AUDIENCE", "ISSUER", "GithubOidc", "GithubOidcProps"]
