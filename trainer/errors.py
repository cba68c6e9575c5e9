"""Errors a user can act on: each message names what is wrong and how to fix it."""


class TrainerError(Exception):
    """Base class: a run that cannot start or cannot go on."""


class ConfigError(TrainerError, ValueError):
    """An unknown recipe, model or field, or a value out of range."""


class DataError(TrainerError):
    """A data folder that is missing, malformed or holds an unreadable image."""


class DivergenceError(TrainerError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""

    def __init__(self, message: str, epoch: int, step: int):
        super().__init__(message)
        self.epoch = epoch
        self.step = step
