from .construct import CONSUME_ACTIONS, Messaging, MessagingProps

__all__ = ["CONSUME_ACTIONS", "Messaging", "MessagingProps"]
