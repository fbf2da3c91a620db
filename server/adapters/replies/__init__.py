"""Outbound replies to posters, one adapter per network (driven adapters of ReplySender)."""
