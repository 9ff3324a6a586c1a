"""What bearer-token validation costs per request (on demand): python -m benchmarks.api.auth_cost

In one run, against one PostgreSQL and one loaded database: the same API twice, once with
AUTH_MODE=off and once validating an RS256 token from the test issuer (keys cached after the
first request), each driven by wrk with GET by id, alternating off/jwt rounds so machine load
drifts evenly. Reports req/s, p50 and server CPU per request side by side, and the validation
cost measured in-process (TokenValidator.validate on a cached key, no HTTP), which is the part
a request pays for authentication: once per token in full (signature and claims), then a
lookup while the token stays valid. wrk sends one token, so its runs show the remembered path.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from inventory_api.auth.keys import KeySet
from inventory_api.auth.settings import load_auth_settings
from inventory_api.auth.tokens import TokenValidator

from benchmarks.api.run import (
    HERE,
    PG_SETTINGS,
    PRODUCTS,
    WrkResult,
    _wait_http,
    load,
    process,
    wrk,
)
from tests.support.postgres import free_port, running_postgres
from tests.support.token_issuer import TokenIssuer, running_issuer

ROUNDS = 2
VALIDATIONS = 2000


def validation_cost_us(issuer: TokenIssuer, env: dict[str, str]) -> tuple[float, float]:
    """Microseconds per TokenValidator.validate, key set cached: a token seen for the first
    time (full verification) and the same token again (remembered)."""
    settings = load_auth_settings(env)
    validator = TokenValidator(settings, KeySet(settings))
    expires = int(time.time()) + 3600
    tokens = [issuer.token(exp=expires, sub=f"caller-{n}") for n in range(VALIDATIONS)]

    async def per_call(batch: list[str]) -> float:
        started = time.perf_counter()
        for token in batch:
            await validator.validate(token)
        return (time.perf_counter() - started) * 1e6 / len(batch)

    async def measure() -> tuple[float, float]:
        await validator.validate(issuer.token())  # fetches the keys once
        first = await per_call(tokens)
        return first, await per_call(tokens)

    return asyncio.run(measure())


def run(duration: int, work: Path) -> None:
    """Both APIs, ROUNDS alternating wrk runs each, then the side-by-side figures."""
    results: dict[str, list[WrkResult]] = {"off": [], "jwt": []}
    with (
        running_postgres(settings=PG_SETTINGS, prefix="inventory-bench-pg-") as server,
        running_issuer() as issuer,
    ):
        database = server.create_database(name="inventory")
        load(database)
        token = issuer.token(exp=int(time.time()) + 3600)
        auth_env = issuer.api_env()
        base = {
            **os.environ,
            "DATABASE_URL": database.sqlalchemy_url,
            "HOST": "127.0.0.1",
            "RATE_LIMIT_PER_SECOND": "0",
        }
        ports = {"off": free_port(), "jwt": free_port()}
        envs = {
            "off": {**base, "PORT": str(ports["off"]), "AUTH_MODE": "off"},
            "jwt": {**base, "PORT": str(ports["jwt"]), **auth_env},
        }
        headers = {"off": (), "jwt": (f"Authorization: Bearer {token}",)}
        command = [sys.executable, "-m", "inventory_api"]
        with (
            process(command, envs["off"], work / "api-off.log") as off_pid,
            process(command, envs["jwt"], work / "api-jwt.log") as jwt_pid,
        ):
            pids = {"off": off_pid, "jwt": jwt_pid}
            for mode in pids:
                _wait_http(f"http://127.0.0.1:{ports[mode]}/readyz")
            for round_number in range(1, ROUNDS + 1):
                for mode in ("off", "jwt"):
                    name = f"GET by id, auth {mode} #{round_number}"
                    result = wrk(
                        name,
                        f"http://127.0.0.1:{ports[mode]}",
                        HERE / "get_by_id.lua",
                        duration,
                        {"PRODUCTS": str(PRODUCTS)},
                        server_pid=pids[mode],
                        headers=headers[mode],
                    )
                    results[mode].append(result)
                    print(result.line(), flush=True)
        in_process = validation_cost_us(issuer, auth_env)
    report(results, in_process)


def report(results: dict[str, list[WrkResult]], in_process_us: tuple[float, float]) -> None:
    """Means per mode, the difference per request and the in-process validation cost."""

    def mean(mode: str, attribute: str) -> float:
        values = [float(getattr(r, attribute)) for r in results[mode]]
        return sum(values) / len(values)

    errors = sum(r.errors for runs in results.values() for r in runs)
    print()
    print(f"{'':<22}{'auth off':>12}{'auth jwt':>12}{'difference':>14}")
    for label, attribute, unit in (
        ("req/s", "requests_per_second", ""),
        ("p50", "p50_ms", " ms"),
        ("server CPU per req", "server_cpu_us", " us"),
    ):
        off, jwt = mean("off", attribute), mean("jwt", attribute)
        print(f"{label:<22}{off:>12.1f}{jwt:>12.1f}{jwt - off:>+12.1f}{unit}")
    first, repeat = in_process_us
    print(f"{'validate(), new token':<22}{'':>12}{first:>12.1f}{'':>14} us (full verification)")
    print(f"{'validate(), seen token':<22}{'':>12}{repeat:>12.1f}{'':>14} us (remembered)")
    print(f"errors (socket + non-2xx): {errors}")


def main() -> int:
    """Parse options and run."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api.auth_cost")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inventory-bench-auth-") as tmp:
        run(args.duration, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
