"""Who sees what the public wrote: a post's text, its author, an incident's summary.

People who act on incidents (the control room, officers) see it; admins, who run the
system, and connectors, which only write, never do. Every read of it by a person is
audited (services/audit.py), so a force can show who looked at what a member of the
public wrote.
"""

from __future__ import annotations

from .model import Principal, Role

CONTENT_ROLES = frozenset({Role.CONTROL_ROOM, Role.OFFICER})


def sees_content(who: Principal) -> bool:
    """True if `who` is shown what the public wrote (and is audited for reading it)."""
    return who.role in CONTENT_ROLES
