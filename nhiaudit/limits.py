"""Size limits for untrusted input files."""

from __future__ import annotations

from pathlib import Path

from nhiaudit.errors import InputError

MAX_POLICY_BYTES = 5 * 1024 * 1024
MAX_RULE_BYTES = 1 * 1024 * 1024
MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024 * 1024
MAX_IMPORT_BYTES = 1 * 1024 * 1024 * 1024
MAX_REPORT_BYTES = 512 * 1024 * 1024  # baselines and `diff` inputs: a few hundred thousand findings fit


def read_text_limited(path: Path, max_bytes: int, what: str) -> str:
    """Read a user file as UTF-8, refusing files over `max_bytes` with an InputError."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError.single(path, f"{what} is {size} bytes; the limit is {max_bytes} bytes")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError.single(path, f"{what} not found") from None
    except IsADirectoryError:
        raise InputError.single(path, f"{what} is a directory, expected a file") from None
    except PermissionError:
        raise InputError.single(path, f"{what} is not readable (permission denied)") from None
    except UnicodeDecodeError as exc:
        raise InputError.single(path, f"{what} is not UTF-8 text ({exc.reason})") from None
