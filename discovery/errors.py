"""Errors a user can cause and fix; the CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """Bad input from the user (unknown name, missing file, invalid option): never a traceback."""
