"""build-artifact.sh on a scratch repository holding a copy of app/: the wheelhouse and the React build come from its
cache when what they are made from did not change: a code-only release needs neither the package index nor npm, a
frontend change no npm ci."""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tarfile

import pytest

PROJECT = pathlib.Path(__file__).resolve().parents[1]
BUILD = PROJECT / "roles" / "cams_app" / "files" / "build-artifact.sh"
TARGET = ("3.11,3.13", "manylinux2014_x86_64", "manylinux_2_17_x86_64")


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    git(root, "init", "-q")
    (root / "app").mkdir()
    archive = subprocess.run(["git", "-C", str(PROJECT), "archive", "HEAD:app"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(root / "app")], input=archive.stdout, check=True)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "app")
    return root


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="module")
def without_pip_or_npm(tmp_path_factory):
    """An environment in which downloading a wheel or running npm fails the build."""
    bin_dir = tmp_path_factory.mktemp("bin")
    (bin_dir / "npm").write_text("#!/bin/sh\necho 'npm must not run' >&2\nexit 1\n")
    (bin_dir / "npm").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHON": "/bin/false"}


@pytest.fixture(scope="module")
def without_pip_or_npm_ci(tmp_path_factory):
    """An environment in which downloading a wheel or installing the frontend's dependencies fails the build."""
    bin_dir = tmp_path_factory.mktemp("bin-npm-build-only")
    (bin_dir / "npm").write_text(f'#!/bin/sh\n[ "$1" = ci ] && {{ echo "npm ci must not run" >&2; exit 1; }}\n'
                                 f'exec {shutil.which("npm")} "$@"\n')
    (bin_dir / "npm").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHON": "/bin/false"}


def build(repo, out, release_id, env=None):
    """Builds the release; returns its wheelhouses (as the manifest names them) and the checksums of its React build."""
    tree = git(repo, "rev-parse", "HEAD:app")
    subprocess.run([str(BUILD), str(repo), tree, release_id, git(repo, "rev-parse", "HEAD"), "main", str(out), *TARGET],
                   check=True, capture_output=True, text=True, env=env)
    manifest = json.loads((out / f"cams-{release_id}.json").read_text())
    return manifest["wheelhouses"], {name: digest for name, digest in manifest["checksums"].items()
                                     if name.startswith("dist/")}


def test_a_code_only_release_reuses_the_wheels_and_the_react_build(repo, out, without_pip_or_npm):
    wheels, dist = build(repo, out, "first")
    assert sorted(wheels) == ["3.11", "3.13"] and dist["dist/index.html"]
    for wheelhouse in wheels.values():  # beside the archive, of the SHA-256 the manifest names, wheels only
        assert hashlib.sha256((out / wheelhouse["archive"]).read_bytes()).hexdigest() == wheelhouse["sha256"]
        with tarfile.open(out / wheelhouse["archive"]) as tar:
            assert {pathlib.Path(name).suffix for name in tar.getnames() if name != "."} == {".whl"}
    with tarfile.open(out / "cams-first.tar.gz") as tar:
        assert not [name for name in tar.getnames() if ".whl" in name]

    (repo / "app" / "backend" / "urls.py").write_text((repo / "app" / "backend" / "urls.py").read_text() + "\n# code\n")
    git(repo, "commit", "-q", "-am", "code only")

    assert tuple(build(repo, out, "code-only", env=without_pip_or_npm)) == (wheels, dist)


def test_a_frontend_change_rebuilds_the_react_build_only(repo, out, without_pip_or_npm, without_pip_or_npm_ci):
    first_wheels, first_dist = build(repo, out, "before-the-frontend-change", env=without_pip_or_npm)
    panel = repo / "app" / "frontend" / "src" / "components" / "AlertsPanel.jsx"
    panel.write_text(panel.read_text().replace(">Firing alerts<", ">Alerts firing<"))
    git(repo, "commit", "-q", "-am", "frontend")

    with pytest.raises(subprocess.CalledProcessError) as refused:
        build(repo, out, "frontend-without-npm", env=without_pip_or_npm)
    assert "npm must not run" in refused.value.stderr
    assert not list(out.glob("cams-frontend-without-npm.*"))  # no artifact, nor a manifest, of a failed build

    # The lock file did not change: its node_modules comes from the cache, with no npm ci.
    wheels, dist = build(repo, out, "frontend", env=without_pip_or_npm_ci)
    assert wheels == first_wheels
    assert dist != first_dist
