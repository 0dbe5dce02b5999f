"""Exception types whose messages are safe to show a user."""


class StorybotError(Exception):
    """Base class: the message is short, true and safe to show."""


class InputError(StorybotError):
    """A file, folder or argument that cannot be used as given."""


class StoryExistsError(StorybotError):
    """A story id already in the library, ingested again without replace."""


class UnknownStoryError(StorybotError):
    """A story id that is not in the library."""


class LibraryError(StorybotError):
    """A library on disk that cannot be opened or written as asked."""


class ModelMismatchError(LibraryError):
    """A library built with another embedding model than the one configured."""


class EncoderMismatchError(ModelMismatchError):
    """A library whose vectors were made by another encoder (runtime or precision) than the active one."""
