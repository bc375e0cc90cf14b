"""The IAM Access Analyzer backend that ``extensions/accessanalyzer.py`` registers with moto as
``moto.accessanalyzer`` (models, urls and responses laid out as a moto service is)."""

from .models import accessanalyzer_backends

__all__ = ["accessanalyzer_backends"]
