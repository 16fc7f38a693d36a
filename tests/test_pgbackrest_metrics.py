"""The database host's backup metrics (roles/pgbackrest/files/pgbackrest-metrics): what it writes for the node
exporter's textfile collector from pgbackrest info and pg_stat_archiver, and that a failed read leaves the last file.

pgbackrest and psql are not on this machine: the script runs here with stand-ins on PATH that print what the real
ones printed on the staging Molecule hosts (Debian 12: pgBackRest 2.45, PostgreSQL 15), captured verbatim below.
"""

import json
import os
import pathlib
import stat
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "roles/pgbackrest/files/pgbackrest-metrics"

# `pgbackrest --stanza=cams --output=json info` on cams-staging-db-01 after the first full backup, a diff and an incr.
INFO = """[
 {
  "archive": [
   {
    "database": {
     "id": 1,
     "repo-key": 1
    },
    "id": "15-1",
    "max": "00000001000000000000000B",
    "min": "000000010000000000000001"
   }
  ],
  "backup": [
   {
    "archive": {
     "start": "000000010000000000000002",
     "stop": "000000010000000000000003"
    },
    "backrest": {
     "format": 5,
     "version": "2.45"
    },
    "database": {
     "id": 1,
     "repo-key": 1
    },
    "error": false,
    "info": {
     "delta": 30747505,
     "repository": {
      "delta": 4099536,
      "size": 4099536
     },
     "size": 30747505
    },
    "label": "20261128-021219F",
    "lsn": {
     "start": "0/2000028",
     "stop": "0/3000050"
    },
    "prior": null,
    "reference": null,
    "timestamp": {
     "start": 1795831939,
     "stop": 1795831942
    },
    "type": "full"
   },
   {
    "archive": {
     "start": "000000010000000000000009",
     "stop": "000000010000000000000009"
    },
    "backrest": {
     "format": 5,
     "version": "2.45"
    },
    "database": {
     "id": 1,
     "repo-key": 1
    },
    "error": false,
    "info": {
     "delta": 3039497,
     "repository": {
      "delta": 312416,
      "size": 4144752
     },
     "size": 31509360
    },
    "label": "20261128-021219F_20261128-021516D",
    "lsn": {
     "start": "0/9000028",
     "stop": "0/9000100"
    },
    "prior": "20261128-021219F",
    "reference": [
     "20261128-021219F"
    ],
    "timestamp": {
     "start": 1795832116,
     "stop": 1795832117
    },
    "type": "diff"
   },
   {
    "archive": {
     "start": "00000001000000000000000A",
     "stop": "00000001000000000000000B"
    },
    "backrest": {
     "format": 5,
     "version": "2.45"
    },
    "database": {
     "id": 1,
     "repo-key": 1
    },
    "error": false,
    "info": {
     "delta": 8458,
     "repository": {
      "delta": 496,
      "size": 4144736
     },
     "size": 31509361
    },
    "label": "20261128-021219F_20261128-021518I",
    "lsn": {
     "start": "0/A000028",
     "stop": "0/B000050"
    },
    "prior": "20261128-021219F_20261128-021516D",
    "reference": [
     "20261128-021219F",
     "20261128-021219F_20261128-021516D"
    ],
    "timestamp": {
     "start": 1795832118,
     "stop": 1795832120
    },
    "type": "incr"
   }
  ],
  "cipher": "aes-256-cbc",
  "db": [
   {
    "id": 1,
    "repo-key": 1,
    "system-id": 7713039311267585453,
    "version": "15"
   }
  ],
  "name": "cams",
  "repo": [
   {
    "cipher": "aes-256-cbc",
    "key": 1,
    "status": {
     "code": 0,
     "message": "ok"
    }
   }
  ],
  "status": {
   "code": 0,
   "lock": {
    "backup": {
     "held": false
    }
   },
   "message": "ok"
  }
 }
]"""
# The same with the repository host unreachable (--repo1-host=127.0.0.2), and for a stanza the repository does not
# have: exit code 0 both times, the error is in the stanza's status.
INFO_UNREACHABLE = """[
 {
  "archive": [],
  "backup": [],
  "cipher": "none",
  "db": [],
  "name": "cams",
  "repo": [
   {
    "cipher": "none",
    "key": 1,
    "status": {
     "code": 99,
     "message": "[UnknownError] remote-0 process on '127.0.0.2' terminated unexpectedly [255]: Host key verification failed."
    }
   }
  ],
  "status": {
   "code": 99,
   "lock": {
    "backup": {
     "held": false
    }
   },
   "message": "other"
  }
 }
]"""
INFO_MISSING_STANZA = """[
 {
  "archive": [],
  "backup": [],
  "cipher": "aes-256-cbc",
  "db": [],
  "name": "nostanza",
  "repo": [
   {
    "cipher": "aes-256-cbc",
    "key": 1,
    "status": {
     "code": 1,
     "message": "missing stanza path"
    }
   }
  ],
  "status": {
   "code": 1,
   "lock": {
    "backup": {
     "held": false
    }
   },
   "message": "missing stanza path"
  }
 }
]"""
# psql's unaligned row of the script's pg_stat_archiver query.
ARCHIVER = "1795832121.414473|0|0"


@pytest.fixture
def host(tmp_path):
    """PATH with runuser, pgbackrest and psql stand-ins; the outputs they print are files the test can change."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    stand_ins = {
        # runuser -u USER -- COMMAND...: runs COMMAND (as this user).
        "runuser": '#!/bin/sh\nshift 3\nexec "$@"\n',
        "pgbackrest": f'#!/bin/sh\ncat {outputs}/pgbackrest\nexit "$(cat {outputs}/pgbackrest.rc)"\n',
        "psql": f'#!/bin/sh\ncat {outputs}/psql\nexit "$(cat {outputs}/psql.rc)"\n',
    }
    for name, text in stand_ins.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (outputs / "pgbackrest").write_text(INFO)
    (outputs / "psql").write_text(ARCHIVER + "\n")
    (outputs / "pgbackrest.rc").write_text("0")
    (outputs / "psql.rc").write_text("0")
    textfiles = tmp_path / "node-exporter"
    textfiles.mkdir()

    def run():
        return subprocess.run(
            [sys.executable, str(SCRIPT), "--stanza=cams", "--prefix=cams", f"--output={textfiles}/pgbackrest.prom"],
            capture_output=True, text=True, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        )

    return run, outputs, textfiles


def samples(text):
    """Prometheus text format -> {series: value}, comments left out."""
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines() if line and not line.startswith("#")
    }


def newest_stop(backup_type):
    return max(b["timestamp"]["stop"] for b in json.loads(INFO)[0]["backup"] if b["type"] == backup_type)


def test_it_writes_the_newest_backup_of_each_type_and_wal_archiving(host):
    run, _, textfiles = host
    result = run()
    assert result.returncode == 0, result.stderr
    written = (textfiles / "pgbackrest.prom").read_text()
    last_success, last_failure, failed = ARCHIVER.split("|")
    assert samples(written) == {
        'cams_backup_last_success_timestamp_seconds{type="full"}': newest_stop("full"),
        'cams_backup_last_success_timestamp_seconds{type="diff"}': newest_stop("diff"),
        'cams_backup_last_success_timestamp_seconds{type="incr"}': newest_stop("incr"),
        "cams_wal_archive_last_success_timestamp_seconds": float(last_success),
        "cams_wal_archive_last_failure_timestamp_seconds": float(last_failure),
        "cams_wal_archive_failed_total": float(failed),
    }
    assert "# TYPE cams_wal_archive_failed_total counter" in written
    # Readable by the exporter's user; nothing but the .prom file is left in the directory.
    assert stat.S_IMODE((textfiles / "pgbackrest.prom").stat().st_mode) == 0o644
    assert [p.name for p in textfiles.iterdir()] == ["pgbackrest.prom"]


def test_of_several_backups_of_a_type_the_newest_counts(host):
    run, outputs, textfiles = host
    info = json.loads(INFO)
    full = info[0]["backup"][0]
    newer = {**full, "label": "later", "timestamp": {"start": full["timestamp"]["stop"] + 3600,
                                                     "stop": full["timestamp"]["stop"] + 3700}}
    info[0]["backup"].append(newer)
    (outputs / "pgbackrest").write_text(json.dumps(info))
    assert run().returncode == 0
    series = samples((textfiles / "pgbackrest.prom").read_text())
    assert series['cams_backup_last_success_timestamp_seconds{type="full"}'] == full["timestamp"]["stop"] + 3700


def test_a_stanza_without_backups_has_no_backup_series_but_wal_archiving(host):
    run, outputs, textfiles = host
    info = json.loads(INFO)
    info[0]["backup"] = []
    info[0]["status"] = {"code": 2, "message": "no valid backups"}
    (outputs / "pgbackrest").write_text(json.dumps(info))
    assert run().returncode == 0
    series = samples((textfiles / "pgbackrest.prom").read_text())
    assert not [name for name in series if name.startswith("cams_backup_")]
    assert "cams_wal_archive_failed_total" in series


@pytest.mark.parametrize(
    "failure", ["repository unreachable", "stanza missing", "pgbackrest fails", "postgresql down"]
)
def test_a_failed_read_leaves_the_previous_metrics_and_fails(host, failure):
    run, outputs, textfiles = host
    assert run().returncode == 0
    before = (textfiles / "pgbackrest.prom").read_text()
    if failure == "repository unreachable":
        (outputs / "pgbackrest").write_text(INFO_UNREACHABLE)
    elif failure == "stanza missing":
        (outputs / "pgbackrest").write_text(INFO_MISSING_STANZA)
    elif failure == "pgbackrest fails":
        (outputs / "pgbackrest.rc").write_text("1")
    else:
        (outputs / "psql.rc").write_text("2")
    result = run()
    assert result.returncode == 1
    assert result.stderr.startswith("pgbackrest-metrics: ")
    assert (textfiles / "pgbackrest.prom").read_text() == before
    assert [p.name for p in textfiles.iterdir()] == ["pgbackrest.prom"]
