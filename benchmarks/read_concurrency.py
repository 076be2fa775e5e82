"""First pages under concurrent clients: API reads on the event loop, and on threads only.

Serves the SQLite store of `api_latency.py` (built or reused at --db) twice with
`tidings serve`: with the default `TIDINGS_INLINE_READ_MS` (cheap reads run on the event
loop, kit/reads.py) and with `TIDINGS_INLINE_READ_MS=0` (every read on the reader threads).
For each number of clients, that many client processes request page 0 of every filter but
the search, in both orders, round and round for --seconds, each on its own keep-alive
connection. It prints requests per second and latency percentiles; the last line is one JSON
object with the figures.
"""

import argparse
import json
import multiprocessing
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_latency import (
    ApiClient,
    create_api_key,
    log_cases,
    pick_samples,
    run_cases,
    serving,
    show,
    sqlite_generation,
)
from tidings.enums import SortOrder
from tidings.kit.db import create_db_engine
from tidings.kit.pagination import DEFAULT_PAGE_SIZE, PageRequest

MODES = {"event loop": {}, "threads only": {"TIDINGS_INLINE_READ_MS": "0"}}


def client_latencies(
    port: int, secret: str, targets: Sequence[str], seconds: float, first: int
) -> list[float]:
    """One client's request latencies over `seconds`, cycling through `targets`."""
    client = ApiClient(port, secret)
    latencies = []
    deadline = time.monotonic() + seconds
    index = first
    try:
        while time.monotonic() < deadline:
            latencies.append(client.get(targets[index % len(targets)])[0])
            index += 1
    finally:
        client.close()
    return latencies


def _client(arguments: tuple[int, str, Sequence[str], float, int]) -> list[float]:
    return client_latencies(*arguments)


def percentile_ms(ordered: Sequence[float], share: float) -> float:
    """The latency below which `share` of the sorted latencies fall, in ms."""
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def load(
    port: int, secret: str, targets: Sequence[str], clients: int, seconds: float
) -> dict[str, float]:
    """`clients` processes requesting at once: requests per second and percentiles."""
    with multiprocessing.Pool(clients) as pool:
        work = [(port, secret, targets, seconds, i * 7) for i in range(clients)]
        ordered = sorted(latency for answer in pool.map(_client, work) for latency in answer)
    return {
        "requests_per_s": round(len(ordered) / seconds, 1),
        "p50_ms": round(percentile_ms(ordered, 0.5), 2),
        "p90_ms": round(percentile_ms(ordered, 0.9), 2),
        "p99_ms": round(percentile_ms(ordered, 0.99), 2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Measure both modes; the last line printed is the JSON figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="the api_latency.py SQLite file")
    parser.add_argument("--logs", type=int, default=1_000_000, help="logs in it (default 1M)")
    parser.add_argument("--clients", default="1,4,16", help="client counts (default 1,4,16)")
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    options = parser.parse_args(argv)
    path = options.db.resolve()
    sqlite_generation(path, options.logs)
    url = f"sqlite:///{path}"
    engine = create_db_engine(url)
    samples = pick_samples(engine)
    secret = create_api_key(engine)
    engine.dispose()
    cases = [c for c in log_cases(samples) + run_cases(samples) if "searchQuery" not in c.params]
    targets = [
        case.target(PageRequest(page=0, page_size=DEFAULT_PAGE_SIZE, order=order))
        for case in cases
        for order in (SortOrder.DESC, SortOrder.ASC)
    ]
    figures: dict[str, dict[str, dict[str, float]]] = {}
    show(f"{'reads on':<13} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
    for mode, settings in MODES.items():
        figures[mode] = {}
        with serving(url, settings) as port:
            warm = ApiClient(port, secret)
            for target in targets:  # every statement compiled and cached before timing
                warm.get(target)
            warm.close()
            for clients in (int(n) for n in options.clients.split(",")):
                row = load(port, secret, targets, clients, options.seconds)
                figures[mode][str(clients)] = row
                show(
                    f"{mode:<13} {clients:>7} {row['requests_per_s']:>8.0f} "
                    f"{row['p50_ms']:>8.1f} {row['p90_ms']:>8.1f} {row['p99_ms']:>8.1f}"
                )
    show(json.dumps(figures))


if __name__ == "__main__":
    main()
