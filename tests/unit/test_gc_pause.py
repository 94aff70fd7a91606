"""Pausing the cyclic garbage collector (miniapp.gc_pause): nested and overlapping pauses."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from miniapp import gc_pause


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    gc.enable() if was else gc.disable()


def test_a_pause_stops_collection_and_resumes_it() -> None:
    gc.enable()
    with gc_pause.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collection_resumes_after_an_error_too() -> None:
    gc.enable()
    with pytest.raises(ZeroDivisionError), gc_pause.paused():
        raise ZeroDivisionError
    assert gc.isenabled()


def test_overlapping_pauses_resume_collection_when_the_last_one_ends() -> None:
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_pause.paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with gc_pause.paused():
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other request still builds its answer
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_pause_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    with gc_pause.paused():
        pass
    assert not gc.isenabled()


def test_an_app_build_during_a_list_does_not_resume_collection_under_it() -> None:
    """A rebuild (new credentials) while another request builds a 2020 list: the build's own
    pause ends, the list's does not."""
    gc.enable()
    with gc_pause.paused():
        with gc_pause.building():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_start_up_hold_lasts_until_the_first_build_ends_even_a_failed_one() -> None:
    gc.enable()
    gc_pause.hold_for_start()
    assert not gc.isenabled()
    with pytest.raises(RuntimeError), gc_pause.building():
        raise RuntimeError("no configuration")
    assert gc.isenabled()
    with gc_pause.building():
        assert not gc.isenabled()
    assert gc.isenabled()
