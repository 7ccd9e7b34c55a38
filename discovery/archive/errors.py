"""What goes wrong with an archive, as one line a user can act on."""

from discovery.errors import UserError


class ArchiveError(UserError):
    """A missing, unknown, corrupt or unreadable archive; the message is one line a user can act on."""
