"""The four roles of a workspace membership and what each may do in broad strokes."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # jail administrator / program coordinator
    STAFF = "staff"  # officers, program, classification and medical staff
    PARTNER = "partner"  # a person of one community organization
    VIEWER = "viewer"  # county board, auditor: read-only

    @property
    def label(self) -> str:
        return self.value.capitalize()


ALL_ROLES = frozenset(Role)
JAIL_ROLES = frozenset({Role.ADMIN, Role.STAFF})
# Partners and viewers never receive fields a model declares staff-only.
ROLES_WITHOUT_STAFF_FIELDS = frozenset({Role.PARTNER, Role.VIEWER})
