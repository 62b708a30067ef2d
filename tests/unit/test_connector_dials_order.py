"""The database addresses a dial's words and evidence name come in one order whatever the hash seed: they are
read from sets (env_hosts.database_hosts, log_signals.DatabaseDial), so connector_dials sorts them by address."""
from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# DB_WRITE_HOST, DB_READ_HOST, DB_CONNECT_TIMEOUT (the replica scenario's env); a driver's line naming two.
SHOW = ("from shared.diagnosis.rules.connector_dials import dial_path\n"
        "print(','.join(dial_path([], ['10.40.0.9', '10.40.0.3', '5'], 'PRIVATE_RANGES_ONLY').addresses))\n"
        "print(','.join(dial_path(['dial tcp 10.40.0.9:5432: i/o timeout', 'dial tcp 10.40.0.3:5432: i/o timeout'],"
        " [], 'PRIVATE_RANGES_ONLY').addresses))\n")


def _shown(seed: int) -> list[list[str]]:
    env = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SHOW], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return [line.split(",") for line in out.split()]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_addresses_are_shown_in_address_order_whatever_the_seed(seed):
    for addresses in _shown(seed):
        assert addresses == sorted(addresses, key=ipaddress.ip_address), (seed, addresses)
        assert addresses == ["10.40.0.3", "10.40.0.9"], (seed, addresses)
