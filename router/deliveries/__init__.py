"""What the dispatcher can deliver: one handler per outbox kind, one module each.

A handler takes a claimed outbox entry, does the work, and returns the version
it delivered; the contract (``Handler``, ``Deferred``) is the dispatcher's, in
router/dispatcher.py. Each handler declares the part of the store it needs, a
``Protocol`` beside it, which the Store satisfies. Every kind is registered in
router/deliveries/registry.py; adding a kind is an ``OutboxKind`` member, one
module here and one line there.
"""

from __future__ import annotations

from router.deliveries.registry import KINDS, Parts, Registered, register_all

__all__ = ["KINDS", "Parts", "Registered", "register_all"]
