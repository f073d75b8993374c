"""An agent that raises out of its loop takes the worker down, counted and visible first.

Faust's default supervisor restarts a crashed actor in place, which can
leave its partitions unprocessed while the process looks healthy
(faust-streaming #175). editsync gives up on the actor instead (its records
stay uncommitted, so nothing is lost), the app counts the crash
(``editsync_agent_crashes_total``), ``/healthz`` fails
at once, and stops the worker ``exit_after_s`` later with exit code 70: long
enough for Prometheus to scrape the crash and the stalled partitions, after
which Kubernetes (or any supervisor) starts a fresh worker that rejoins the
group and heals its orders.

``FaultSensor`` is for tests only: with ``EDITSYNC_FAULT_INJECTION`` set, an
agent can be told to raise on its next record, exactly as a bug would.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable

import faust
from faust.agents import current_agent
from faust.types import TP, EventT, StreamT
from mode import ForfeitOneForOneSupervisor, ServiceT

log = logging.getLogger(__name__)
EXIT_AGENT_CRASHED = 70  # EX_SOFTWARE


class AgentWatchdog:
    """Counting is the app's (``EditsyncApp._on_agent_error``); this decides what a crash means for the worker."""

    def __init__(self, exit_after_s: float,
                 stop: Callable[[], None] = lambda: os.kill(os.getpid(), signal.SIGTERM)) -> None:
        self._exit_after_s, self._stop = exit_after_s, stop
        self.crashed: dict[str, str] = {}  # agent name -> why
        self._reported: set[int] = set()

    def supervisor(self) -> type[ForfeitOneForOneSupervisor]:
        """The agent supervisor class Faust instantiates per agent, reporting to this watchdog."""
        watchdog = self

        class ReportingSupervisor(ForfeitOneForOneSupervisor):
            async def restart_services(self, services: list[ServiceT]) -> None:
                # The supervisor keeps finding the same dead actor on every wake-up: report each once.
                for service in services:
                    if id(service) not in watchdog._reported:
                        watchdog._reported.add(id(service))
                        watchdog.report(_agent_name(service), service.crash_reason)
                await super().restart_services(services)

        return ReportingSupervisor

    def report(self, agent: str, reason: BaseException | None) -> None:
        first = not self.crashed
        self.crashed[agent] = repr(reason)
        log.critical("agent %s crashed (%r): its partitions stop here; /healthz fails and the worker exits "
                     "with code %d in %.0f s so that a fresh one takes over", agent, reason, EXIT_AGENT_CRASHED,
                     self._exit_after_s)
        if first:
            asyncio.get_running_loop().call_later(self._exit_after_s, self._stop)


def _agent_name(service: ServiceT) -> str:
    agent = getattr(service, "agent", None)
    return getattr(agent, "name", str(service)).rsplit(".", 1)[-1]


class FaultInjected(RuntimeError):
    """Raised inside an agent's loop on a test's request."""


class FaultSensor(faust.Sensor):
    """Makes the named agent raise on its next record (tests only; see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.crash_agents: set[str] = set()

    def on_stream_event_in(self, tp: TP, offset: int, stream: StreamT, event: EventT) -> dict | None:
        agent = current_agent()
        name = agent.name.rsplit(".", 1)[-1] if agent is not None else ""
        if name in self.crash_agents:
            self.crash_agents.discard(name)
            raise FaultInjected(f"fault injected into agent {name} at {tp.topic}[{tp.partition}]@{offset}")
        return None
