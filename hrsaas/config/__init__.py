from .budget import ConnectionBudget, connection_budget
from .errors import ConfigError, Problem
from .facts import aws_facts
from .loader import ENVS_DIR, environment_names, load_environment, load_environments
from .models import Catalog, Environment, Network, Service, Subnet

__all__ = [
    "ENVS_DIR", "Catalog", "ConfigError", "ConnectionBudget", "Environment", "Network",
    "Problem", "Service", "Subnet", "aws_facts", "connection_budget", "environment_names",
    "load_environment", "load_environments",
]
