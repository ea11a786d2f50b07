"""The one error a scenario, or a file it names, raises when it cannot be used."""


class ScenarioError(Exception):
    """A scenario (or a file it names) that cannot be used, with a message for its author."""

