"""The one error a chat log, a duty file or a log-format file raises when it cannot be used."""


class ChatLogError(Exception):
    """A chat log (or its duty or format file) that cannot be used; the message names the
    file, the line and the column, and the problem."""
