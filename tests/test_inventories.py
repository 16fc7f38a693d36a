"""The environments mirror each other: molecule/prod converges the real inventories/prod, and staging is prod's shape
with one app host, so what these tests hold is what lets prod's scenario stand for staging too (docs/topologies.md)."""
import json
import pathlib
import re
import subprocess

import pytest
import yaml

PROJECT = pathlib.Path(__file__).resolve().parents[1]
BIN = PROJECT / ".venv" / "bin"
ENVIRONMENTS = ("dev", "staging", "prod", "local")


def groups_of(environment):
    """Each group of the inventory with its hosts, as Ansible reads it."""
    listed = json.loads(subprocess.run([BIN / "ansible-inventory", "-i", f"inventories/{environment}", "--list"],
                                       cwd=PROJECT, capture_output=True, text=True, check=True).stdout)
    return {group: set(listed.get(group, {}).get("hosts", [])) for group in listed["all"]["children"] if group != "ungrouped"}


def hosts_per_play(environment):
    """How many hosts each play of site.yml runs on, in order, with the environment's inventory."""
    listed = subprocess.run([BIN / "ansible-playbook", "-i", f"inventories/{environment}", "site.yml", "--list-hosts"],
                            cwd=PROJECT, capture_output=True, text=True, check=True).stdout
    return [(play, int(count)) for play, count in re.findall(r"play #\d+ \(([^)]*)\).*\n.*\n\s+hosts \((\d+)\)", listed)]


def settings_of(environment):
    return yaml.safe_load((PROJECT / "inventories" / environment / "group_vars" / "all" / "main.yml").read_text())


def test_every_environment_has_the_same_groups():
    groups = {environment: set(groups_of(environment)) for environment in ENVIRONMENTS}
    assert all(names == groups["prod"] for names in groups.values()), groups


@pytest.mark.parametrize("environment", ["staging", "dev"])
def test_site_yml_runs_the_same_plays_on_every_environment(environment):
    """Plays on an empty group (dev has no balancer) are skipped; none runs where prod's would not."""
    prod, other = hosts_per_play("prod"), hosts_per_play(environment)
    assert [play for play, _ in other] == [play for play, _ in prod]
    assert all(count <= prod_count for (_, count), (_, prod_count) in zip(other, prod))


def test_staging_is_prods_shape_with_one_app_host():
    prod, staging = groups_of("prod"), groups_of("staging")
    assert {group: len(hosts) for group, hosts in staging.items()} == {
        group: 1 if group in ("appservers", "webservers") else len(hosts) for group, hosts in prod.items()}
    assert len(prod["appservers"]) > 1, "prod's rolling deploys and failover need two app hosts"


def test_staging_and_prod_set_the_same_variables():
    assert set(settings_of("staging")) == set(settings_of("prod"))
    assert [settings_of(environment)["cams_environment"] for environment in ENVIRONMENTS] == [
        "dev", "staging", "prod", "dev"], "the local VM is a dev environment"
