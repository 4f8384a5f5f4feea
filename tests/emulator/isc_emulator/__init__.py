"""A local emulator of a SailPoint Identity Security Cloud tenant's task-status API (test infrastructure)."""

from .server import Emulator
from .tenant import RateLimit, Tenant

__all__ = ["Emulator", "RateLimit", "Tenant"]
