from .construct import CONSUME_ACTIONS, Messaging, MessagingProps, queue_names

__all__ = ["CONSUME_ACTIONS", "Messaging", "MessagingProps", "queue_names"]
