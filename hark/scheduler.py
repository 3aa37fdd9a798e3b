"""RQ's scheduler, as a child process that stops with the worker that started it.

RQ forks the scheduler from the worker holding the scheduler lock. When that worker is
killed with SIGKILL (the OOM killer, a lost container), the child lives on as an orphan:
no supervisor sees it, and it keeps renewing the lock, so the worker started in its
place cannot take scheduling over (seen for minutes). This scheduler asks the kernel for
SIGTERM when its parent dies (Linux's ``PR_SET_PDEATHSIG``) and, everywhere, checks its
parent at every pass; either way it stops as RQ's does, releasing the lock.
"""

from __future__ import annotations

import ctypes
import os
import signal

from rq.scheduler import RQScheduler

_PR_SET_PDEATHSIG = 1


class ParentBoundScheduler(RQScheduler):
    def start(self):
        self._parent_pid = os.getpid()  # the worker, forking the scheduler now
        return super().start()

    def work(self) -> None:
        _signal_me_when_my_parent_dies()
        super().work()

    def heartbeat(self) -> None:
        if os.getppid() != self._parent_pid and not self._stop_requested:
            self.log.warning("the worker that started this scheduler is gone: stopping")
            self._stop_requested = True  # RQ's loop stops at its next pass, lock released
        super().heartbeat()


def _signal_me_when_my_parent_dies() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the heartbeat's check stops it
        pass
