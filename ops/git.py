"""The git the operator's commands need: a clone's `origin` and its remote-tracking branches. Nothing here reads or
changes the clone's working tree, index or current branch."""
import io
import json
import pathlib
import subprocess
import tarfile
import urllib.parse

from ops.environments import REPOSITORY

REMOTE = "origin"
# The one definition of a release id (the tree of app/, as the build names its artifact).
RESOLVE_REF = REPOSITORY / "roles" / "cams_app" / "files" / "resolve-ref.sh"


class GitError(Exception):
    """A git command failed; the message says which and why."""


class Clone:
    def __init__(self, path):
        self.path = pathlib.Path(path).resolve()

    def __str__(self):
        return str(self.path)

    def _run(self, *args, binary=False):
        result = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, text=not binary)
        if result.returncode != 0:
            stderr = result.stderr if not binary else result.stderr.decode(errors="replace")
            raise GitError(f"git {' '.join(args)} failed in {self.path}: {stderr.strip()}")
        return result.stdout

    def git(self, *args):
        return self._run(*args).strip()

    def remote_url(self):
        """origin's URL without any user or password it may carry."""
        url = urllib.parse.urlsplit(self.git("remote", "get-url", REMOTE))
        if url.username or url.password:
            url = url._replace(netloc=url.hostname + (f":{url.port}" if url.port else ""))
        return url.geturl()

    def fetch(self):
        self.git("fetch", "--quiet", "--prune", REMOTE)

    def remote_has_branch(self, branch):
        """Asks origin itself (nothing fetched): whether it has `branch`."""
        return bool(self.git("ls-remote", "--heads", REMOTE, f"refs/heads/{branch}"))

    def tip(self, branch):
        """The commit origin's `branch` pointed at when last fetched, or None."""
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"refs/remotes/{REMOTE}/{branch}^{{commit}}")
        except GitError:
            return None

    def commits(self, base, tip):
        """(short sha, subject) of the commits `tip` has that `base` has not, newest first."""
        log = self.git("log", "--format=%h%x09%s", f"{base}..{tip}")
        return [tuple(line.split("\t", 1)) for line in log.splitlines()]

    def is_ancestor(self, ancestor, descendant):
        return subprocess.run(["git", "-C", str(self.path), "merge-base", "--is-ancestor", ancestor, descendant],
                              capture_output=True).returncode == 0

    def added_files(self, base, tip, pathspec):
        """Files `tip` added since its common ancestor with `base`, matching `pathspec`."""
        return self.git("diff", "--name-only", "--diff-filter=A", f"{base}...{tip}", "--", pathspec).splitlines()

    def release_id(self, commit):
        """The release id the build gives `commit` (resolve-ref.sh)."""
        result = subprocess.run([str(RESOLVE_REF), str(self.path), commit], capture_output=True, text=True)
        if result.returncode != 0:
            raise GitError(result.stderr.strip())
        return json.loads(result.stdout)["id"]

    def export(self, commit, path, destination):
        """Writes `path` as it is at `commit` under `destination` (git archive), leaving the clone as it is."""
        archive = self._run("archive", "--format=tar", commit, "--", path, binary=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(destination, filter="data")

    def push(self, commit, branch):
        """origin's `branch` to `commit`; origin refuses it unless it is a fast-forward (no force)."""
        self.git("push", "--quiet", REMOTE, f"{commit}:refs/heads/{branch}")
