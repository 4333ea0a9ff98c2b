"""The outbox: every write to it, and its claims.

The outbox has one row per (kind, ref) (kinds and states in router/store/kinds.py).
Two sides write it:

    entries.py  inside the transaction that stores the work: arm an entry, move a
                message on to its next version, schedule a timer, wake a clock
    claims.py   the dispatcher's: claim with a lease, then done, retry, defer or dead

Retention (router/store/retention.py) deletes finished entries past their time.
"""

from router.store.outbox.claims import Claim, OutboxItem, OutboxQueue

__all__ = ["Claim", "OutboxItem", "OutboxQueue"]
