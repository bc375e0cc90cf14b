from .construct import CostBudget, CostBudgetProps

__all__ = ["CostBudget", "CostBudgetProps"]
