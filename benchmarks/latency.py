"""A loopback TCP proxy that adds a round trip: the network between a vendor's CI and its staging server.

Bytes pass through untouched (TLS included: the client still verifies the target's certificate); each chunk is
held ``rtt/2`` in each direction, as a wire of that latency and unlimited bandwidth would hold it, so requests
on different connections overlap exactly as they would over a real network. It counts connections (the peak
open at once, the total) so the benchmark can report the concurrency a run used. A connection counts as open
from its accept until the client closes its end: what the client holds (``--max-connections`` bounds that); its
close reaches the server half a round trip later, as over any network.

    with LatencyProxy("127.0.0.1", 8443, rtt_ms=40) as proxy:
        ... proxy.port ...
        proxy.peak_connections
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any


class LatencyProxy:
    def __init__(self, host: str, port: int, rtt_ms: float = 40.0) -> None:
        self.target = (host, port)
        self.delay = rtt_ms / 2000.0
        self.port = 0
        self.open_connections = 0
        self.peak_connections = 0
        self.total_connections = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the latency proxy did not start")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def url(self, base_url: str) -> str:
        """``base_url`` (of the target behind the proxy) with the proxy's port in place of the target's."""
        return base_url.replace(f":{self.target[1]}", f":{self.port}", 1)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()
        # stopped: end the connections still piping here, so none is left to a garbage collection of a closed loop
        self._server.close()
        for _ in range(5):  # a cancelled pipe's delivery ends a round later
            tasks = [task for task in asyncio.all_tasks(self._loop) if not task.done()]
            if not tasks:
                break
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._hold(asyncio.current_task())
        with contextlib.suppress(asyncio.CancelledError):  # the proxy stopping: asyncio reports a cancelled one
            await self._relay(reader, writer)

    def _hold(self, task: asyncio.Task[Any] | None) -> None:
        """Keep a strong reference to a running task: the loop keeps only weak ones, and a pending task
        collected as garbage is reported ("Task was destroyed but it is pending")."""
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        self.total_connections += 1
        self.peak_connections = max(self.peak_connections, self.open_connections)
        released = False

        def release() -> None:  # the client closed its end: it no longer holds this connection
            nonlocal released
            if not released:
                released = True
                self.open_connections -= 1

        await asyncio.sleep(self.delay)  # the client's SYN travelling to the target
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            release()
            return
        try:
            await asyncio.gather(self._pipe(reader, up_writer, on_eof=release), self._pipe(up_reader, writer))
        finally:
            release()
            for w in (writer, up_writer):
                w.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, on_eof: Callable[[], None] | None = None
    ) -> None:
        """Copy one direction, each chunk delivered ``delay`` after it was read, in order; ``on_eof`` as the
        reading side's end is read."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                try:
                    await writer.drain()
                except (ConnectionError, OSError):
                    break
            if writer.can_write_eof():
                with contextlib.suppress(OSError):
                    writer.write_eof()

        delivering = asyncio.ensure_future(deliver())
        self._hold(delivering)
        try:
            while True:
                try:
                    chunk = await reader.read(65536)
                except (ConnectionError, OSError):
                    chunk = b""
                await queue.put((time.monotonic() + self.delay, chunk))
                if not chunk:
                    if on_eof is not None:
                        on_eof()
                    break
        finally:
            await delivering
