"""Every exception and warning pytest-onepixel raises, in one place.

Every user mistake surfaces as a `OnePixelError` subclass whose message says what was expected,
what was found and what to do, so the pytest layer can show the message instead of a traceback.
"""

from __future__ import annotations


class OnePixelError(Exception):
    """Base class of every error pytest-onepixel raises for a user mistake."""


class InputError(OnePixelError, ValueError):
    """An argument of `attack()` (images, labels, targets, budget, ...) is not usable."""


class ModelOutputError(OnePixelError):
    """The model returned something other than one finite row of class scores per image."""


class ModelCallError(OnePixelError):
    """The model raised when called on a batch (often a layout, rank or channel mismatch)."""


class UnstableModelError(OnePixelError):
    """The model's scores for an image change with its batch or between calls (training-mode
    BatchNorm or dropout, noise), so attack results would depend on batch size and chance."""


class ModelLoadError(OnePixelError):
    """A model file, factory or object could not be loaded, or does not fit the data."""


class ImageFitError(ModelLoadError):
    """The images do not fit the model's input (rank, size, channel count or layout)."""


class DataError(OnePixelError):
    """Held-out data could not be loaded or sampled."""


class ConfigError(OnePixelError):
    """A setting in YAML, an option, an ini key or a marker is missing, unknown or malformed."""


class ReportError(ConfigError, ValueError):
    """A report (or a cache entry) that does not fit the schema. A ConfigError, so the command
    line and the plugin show its one paragraph; a ValueError, so readers that treat a bad entry
    as absent (the result cache) keep doing so."""


class GateFailed(Exception):
    """A gate's verdict is fail; its message is the failure report a user reads (not a user
    mistake, so not a OnePixelError)."""


class OnePixelWarning(UserWarning):
    """Something worth knowing that does not stop the run (e.g. fewer images than asked for)."""


class UnsupportedOpError(OnePixelError):
    """`search: certify` met an op (or a use of one) its bounds do not cover; the message names
    the op and the node and advises `search: de`."""
