"""Typed errors that cross the protocol. Each has a stable `code` clients can switch on,
and a message that tells the user what to do next."""

from __future__ import annotations


class EngineError(Exception):
    code = "engine_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details}


class BadRequest(EngineError):
    """The request is malformed or its parameters are out of range."""
    code = "bad_request"


class UnknownMethod(EngineError):
    code = "unknown_method"


class ModelNotInstalled(EngineError):
    """A checkpoint the job needs is missing; the message names the `models pull` line."""
    code = "model_not_installed"


class CheckpointError(EngineError):
    """A checkpoint is truncated, corrupt or of the wrong shape; names the file/variable."""
    code = "checkpoint_error"


class BadInput(EngineError):
    """A user file (WAV, MIDI, ...) cannot be used; names the file and the fix."""
    code = "bad_input"


class OutputExists(EngineError):
    """An export would replace an existing file and `overwrite=True` was not given."""
    code = "output_exists"


class PlaybackUnavailable(EngineError):
    """No sound device (or no playback library) here; the message says what to do."""
    code = "playback_unavailable"


class JobCancelled(EngineError):
    code = "cancelled"

    def __init__(self, message: str = "cancelled", **details: object) -> None:
        super().__init__(message, **details)


class Unauthorized(EngineError):
    code = "unauthorized"


class ProtocolError(EngineError):
    code = "protocol_error"


ERRORS_BY_CODE = {
    cls.code: cls
    for cls in (EngineError, BadRequest, UnknownMethod, ModelNotInstalled, CheckpointError,
                BadInput, OutputExists, PlaybackUnavailable, JobCancelled, Unauthorized,
                ProtocolError)
}


def from_dict(d: dict) -> EngineError:
    cls = ERRORS_BY_CODE.get(d.get("code", ""), EngineError)
    err = cls.__new__(cls)
    EngineError.__init__(err, d.get("message", "unknown error"), **(d.get("details") or {}))
    return err
