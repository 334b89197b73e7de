"""One `newswire run` per state directory (newswire.run_lock)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newswire.errors import StateDirInUse
from newswire.run_lock import LOCK_FILE, exclusive_state_dir


def test_the_state_dir_is_held_while_running_and_free_after(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with exclusive_state_dir(state):
        assert (state / LOCK_FILE).read_text().strip() == str(os.getpid())
        with (
            pytest.raises(StateDirInUse, match=f"in use by newswire process {os.getpid()}"),
            exclusive_state_dir(state),
        ):
            pass
    with exclusive_state_dir(state):  # released: taken again
        pass
