"""Renders one benchmark run (the dict bench/lifecycle.py builds) as a text table, docs/benchmarks.md and
docs/benchmarks.png. Pure functions of the results, except write() and plot(), the only user of matplotlib.

    .venv/bin/python bench/report.py bench/results/lifecycle-<time>.json     (the docs again from a run's figures)
"""
import json
import pathlib
import sys

from throughput import PAIRS

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"

TARGETS = {
    "code-only deploy, warm build cache": "≤ 15 s, 0 failed",
    "code-only deploy, cold build cache": "",
    "code-only deploy, warm build cache, without Mitogen": "",
    "code-only deploy, warm build cache, cold Mitogen memo": "",
    "dependency change deploy": "≤ 30 s, 0 failed",
    "frontend change deploy": "≤ 30 s, 0 failed",
}


def lifecycle_rows(results):
    converge = results["converge"]
    rows = [
        ("fresh converge (site.yml)", f"{converge['fresh_s']:.1f}", str(converge["fresh_changed"]), "", "", "", ""),
        ("idempotent re-run (site.yml)", f"{converge['rerun_s']:.1f}", str(converge["rerun_changed"]), "", "", "",
         "changed=0"),
        ("re-run / fresh", f"{converge['rerun_s'] / converge['fresh_s']:.0%}", "", "", "", "", "≤ 25 %"),
    ]
    for deploy in results["deploys"]:
        rows.append((deploy["name"], f"{deploy['seconds']:.1f}", str(deploy["changed"]), str(deploy["sent"]),
                     f"{deploy['failed']}" + ("" if deploy["load_lasted"] else " (load ended early)"),
                     stolen_text(deploy), TARGETS.get(deploy["name"], "")))
    return ("measure", "seconds", "changed", "requests", "failed", "CPU stolen", "target"), rows


def stolen_text(measured):
    """The hypervisor's share of the CPUs while it was measured; runs before this column have none."""
    return f"{measured['stolen_cpu']:.0%}" if "stolen_cpu" in measured else ""


def throughput_rows(results):
    measured = results["throughput"]
    rows = []
    for name, _url, baseline, _baseline_url in PAIRS:
        own, base = measured[name], measured[baseline]
        rows.append((name, f"{own['answered_per_second']:.0f}", f"{own['p50_ms']:.2f}", f"{own['p99_ms']:.2f}",
                     str(own["failed"]), baseline, f"{base['answered_per_second']:.0f}", f"{base['p50_ms']:.2f}",
                     f"{own['answered_per_second'] / base['answered_per_second']:.2f}"))
    return ("endpoint", "req/s", "p50 ms", "p99 ms", "failed", "baseline", "baseline req/s", "baseline p50 ms",
            "req/s ratio"), rows


def optimisations(results):
    """What each optimisation bought, as (optimisation, without, with) from this run's own figures."""
    deploys = {deploy["name"]: deploy["seconds"] for deploy in results["deploys"]}
    converge = results["converge"]
    return [
        ("Mitogen's strategy (one Python per host for the run, not one per task over SSH)",
         f"re-run: {converge['rerun_without_mitogen_s']:.1f} s; code-only deploy, warm cache: "
         f"{deploys['code-only deploy, warm build cache, without Mitogen']:.1f} s",
         f"re-run: {converge['rerun_s']:.1f} s; code-only deploy, warm cache: "
         f"{deploys['code-only deploy, warm build cache']:.1f} s"),
        ("Mitogen's memo (its compile and minify of module sources, kept on disk between runs)",
         f"code-only deploy, warm build cache, the memo empty: "
         f"{deploys['code-only deploy, warm build cache, cold Mitogen memo']:.1f} s",
         f"with it warm: {deploys['code-only deploy, warm build cache']:.1f} s"),
        ("Build cache (wheelhouses, React build and its node_modules reused by what they are made from)",
         f"code-only deploy with the cache cleared: {deploys['code-only deploy, cold build cache']:.1f} s",
         f"with it warm: {deploys['code-only deploy, warm build cache']:.1f} s"),
        ("Shared virtualenv (releases with the same requirements reuse one)",
         f"dependency change (new wheelhouse and virtualenv): {deploys['dependency change deploy']:.1f} s",
         f"code-only, warm cache (shared virtualenv): {deploys['code-only deploy, warm build cache']:.1f} s"),
        ("Idempotent roles (a converged host needs no change)",
         f"fresh converge: {converge['fresh_s']:.1f} s",
         f"re-run: {converge['rerun_s']:.1f} s, changed={converge['rerun_changed']}"),
    ]


def text_table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def text(results):
    return "\n\n".join([machine_text(results["machine"]), text_table(*lifecycle_rows(results)),
                        text_table(*throughput_rows(results)),
                        text_table(("optimisation", "without", "with"), optimisations(results))])


def machine_text(machine):
    before, *during = machine["load_samples"]
    text = (f"{machine['cpu']}, `nproc` = {machine['nproc']}; 1-minute load average {before:.1f} before the run, "
            f"{min(during):.1f} to {max(during):.1f} after its steps (the bench's own work: Ansible, the VM, the load"
            f" generator).")
    if "stolen_cpu" in machine:
        text += (f" The hypervisor took {stolen_text(machine)} of the CPUs' time during the run (steal, /proc/stat):"
                 " on a busier host the same work takes longer, by more than that share (11 % stolen made a"
                 " code-only deploy 30-40 % slower on this project's machine).")
    # A load before the run is someone else's work: the bench's own keeps the machine busy only while it runs.
    if before > machine["nproc"] / 2:
        text += (" The machine was shared with other work at the time (Molecule scenarios, other VMs): the times are"
                 " upper bounds, not those of an idle machine.")
    return text


def markdown(results):
    machine = results["machine"]
    return f"""# Benchmarks

Generated by `make bench` (`bench/lifecycle.py`) on {machine['date']}: do not edit by hand, run it again.
Plot: [benchmarks.png](benchmarks.png). The run's raw figures stay in `bench/results/` (not committed).

Machine: {machine_text(machine)}

## Lifecycle

One fresh local VM (`cams-bench`, a systemd container: `scripts/local-vm.sh`), one run: `site.yml` on the bare VM,
again (idempotent; a third time without Mitogen, below), then six deploys with `playbooks/deploy.yml` timed end to
end (artifact build included): a Python change with the build cache cleared, another Python change with it warm,
another with it warm and without Mitogen, another with Mitogen's memo empty, an added dependency (`six==1.17.0`: new wheelhouses, sent to the host,
and a virtualenv built there), a changed dashboard heading (the React build, with node_modules from the cache).
During each
deploy a paced load (100 requests/s to `/health/`, a new connection each, inside the VM on 127.0.0.1) counts the
failed requests. `changed` is the recap's total; `CPU stolen` is the share of the CPUs' time the hypervisor gave to
other machines during the deploy.

{markdown_table(*lifecycle_rows(results))}

## Requests/s and latency

Inside the VM, {results['load_seconds']} s per line, {results['load_concurrency']} keep-alive connections,
unpaced, over https on 127.0.0.1 (the load generator shares the VM's CPUs with the server, so the figures are for
comparing the lines, not capacity). The WSGI hello runs on the release's gunicorn binary with the live slot's
settings ({results['gunicorn_settings']}) behind a temporary nginx server block with the site's TLS settings; the
plain static file (as large as `index.html`) is served by that block.

{markdown_table(*throughput_rows(results))}

## What each optimisation bought (same run)

Each row compares two steps of this run. Mitogen's rows run the same playbooks with `ANSIBLE_STRATEGY=linear`
(Ansible's own strategy) in place of ansible.cfg's `mitogen_linear`: a re-run right after the first, and a code-only
deploy right after the one with it. The memo's row gives the strategy's memo of Mitogen's work on module sources
(`plugins/strategy/mitogen_linear.py`) an empty directory, as on a control node's first run. The dependency change pays for what a shared virtualenv saves (a new
wheelhouse from the index and a new virtualenv on the host) but nothing else: where it is not slower than the
code-only deploy, the rest of the deploy (the rollout, the health gate) dominates, and on a shared machine a few
seconds either way are noise.

{markdown_table(("optimisation", "without", "with"), optimisations(results))}
"""


def plot(results, path):
    import matplotlib  # only here: the rest of the bench runs without it

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (times, ratios) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    converge = results["converge"]
    names = ["fresh converge", "idempotent re-run"] + [deploy["name"] for deploy in results["deploys"]]
    seconds = [converge["fresh_s"], converge["rerun_s"]] + [deploy["seconds"] for deploy in results["deploys"]]
    times.barh(names[::-1], seconds[::-1], color="tab:blue")
    times.set_xlabel("seconds")
    times.set_title("Converge and deploy times")
    for name, _url, baseline, _baseline_url in PAIRS:
        measured = results["throughput"]
        ratios.bar(name, measured[name]["answered_per_second"] / measured[baseline]["answered_per_second"],
                   color="tab:green")
    ratios.axhline(1, color="grey", linewidth=1)
    ratios.set_ylabel("requests/s relative to its baseline")
    ratios.set_title("Throughput vs bare WSGI hello / plain static file")
    ratios.tick_params(axis="x", labelsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def write(results):
    print(text(results))
    (DOCS / "benchmarks.md").write_text(markdown(results))
    plot(results, DOCS / "benchmarks.png")


if __name__ == "__main__":
    write(json.loads(pathlib.Path(sys.argv[1]).read_text()))
