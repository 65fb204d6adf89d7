"""Where trials keep their checkpoints: an Optuna artifact store, on a shared folder or S3.

A running trial stores its state after every epoch (:mod:`unitsearch.train.checkpoint` says
what it holds) under a fresh artifact id, then records that id in its ``checkpoint``
attribute, then removes the one before: the study database is the index, so a worker killed
halfway through a write leaves the previous checkpoint in force, never a torn one. A retried
trial (heartbeat, interrupt, Slurm requeue) carries its predecessor's attributes, the id
included, and goes on from there.

``location`` is a folder (``FileSystemArtifactStore``; on a cluster, one that every node
mounts), ``s3://BUCKET[/PREFIX]`` (``Boto3ArtifactStore``; ``pip install boto3``, the usual
``AWS_*`` environment or an S3-compatible ``AWS_ENDPOINT_URL``), or ``none``.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

from optuna.artifacts import Boto3ArtifactStore, FileSystemArtifactStore
from optuna.artifacts.exceptions import ArtifactNotFound

from ..errors import UserError

__all__ = ["DEFAULT_CHECKPOINTS", "CheckpointStore", "open_checkpoints"]

DEFAULT_CHECKPOINTS = "unitsearch-checkpoints"  # a folder in the working directory ($UNITSEARCH_CHECKPOINTS)


class CheckpointStore:
    """Save, load and remove checkpoints as bytes; ``keep`` leaves those of finished trials."""

    def __init__(self, store: FileSystemArtifactStore | Boto3ArtifactStore, location: str, *, prefix: str = "", keep: bool = False) -> None:
        self.store, self.location, self.prefix, self.keep = store, location, prefix, keep

    def save(self, data: bytes) -> str:
        """Store ``data`` under a new id and return it."""
        artifact_id = f"{self.prefix}ckpt-{uuid.uuid4().hex}"
        self.store.write(artifact_id, io.BytesIO(data))
        return artifact_id

    def load(self, artifact_id: str) -> bytes | None:
        """The bytes stored under ``artifact_id``; None when they are gone."""
        try:
            with self.store.open_reader(artifact_id) as f:
                return f.read()
        except (ArtifactNotFound, FileNotFoundError):
            return None

    def remove(self, artifact_id: str) -> None:
        """Remove ``artifact_id``; one already gone is fine."""
        try:
            self.store.remove(artifact_id)
        except (ArtifactNotFound, FileNotFoundError):
            pass


def open_checkpoints(location: str | None = None, *, keep: bool = False) -> CheckpointStore | None:
    """The store at ``location`` (default ``$UNITSEARCH_CHECKPOINTS``, else :data:`DEFAULT_CHECKPOINTS`); None for ``none``.

    Raises:
        UserError: A folder that cannot be created or written, or S3 without boto3.
    """
    location = (location or os.environ.get("UNITSEARCH_CHECKPOINTS") or DEFAULT_CHECKPOINTS).strip()
    if location.lower() == "none":
        return None
    if location.startswith("s3://"):
        bucket, _, prefix = location[len("s3://") :].partition("/")
        if not bucket:
            raise UserError(f"bad checkpoint location {location!r}; expected a folder, s3://BUCKET[/PREFIX] or none")
        try:
            import boto3  # noqa: F401
        except ImportError:
            raise UserError(f"checkpoints on {location!r} need boto3: pip install boto3 (or give a shared folder)") from None
        return CheckpointStore(Boto3ArtifactStore(bucket), location, prefix=f"{prefix.strip('/')}/" if prefix.strip("/") else "", keep=keep)
    folder = Path(location).expanduser().absolute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UserError(f"cannot write checkpoints to {str(folder)!r}: {e.strerror or e}; give another folder with --checkpoints, or none") from None
    return CheckpointStore(FileSystemArtifactStore(folder), str(folder), keep=keep)
