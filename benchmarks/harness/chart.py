"""The PNG chart of a run: records/s per scenario and client. Needs matplotlib (optional)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any


def write(path: Path, doc: dict[str, Any]) -> str:
    """Draw the chart to ``path``; return what was done (or why not)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart skipped: matplotlib is not installed (pip install matplotlib)"

    runs = [r for r in doc["results"] if r["completed"] and not r.get("reference")]
    scenarios = [name for name in doc["scenarios"] if any(r["scenario"] == name for r in runs)]
    labels = list(dict.fromkeys(r["label"] for r in runs))
    colors = dict(zip(labels, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    width = 0.8 / max(1, len(labels))
    fig, ax = plt.subplots(figsize=(10, 5.5), dpi=110)
    seen: set[str] = set()
    for x, name in enumerate(scenarios):
        here = [r for r in runs if r["scenario"] == name]
        for i, r in enumerate(here):
            offset = (i - (len(here) - 1) / 2) * width
            rate = r["records_per_second"]
            label = r["label"] if r["label"] not in seen else None
            seen.add(r["label"])
            bars = ax.bar(x + offset, max(rate, 0.1), width, color=colors[r["label"]], label=label)
            text = f"{rate:,.0f}" if rate >= 10 else f"{rate:.1f}"
            ax.bar_label(bars, [text], fontsize=7, padding=2)
    ax.set_yscale("log")
    ax.set_xticks(range(len(scenarios)))
    titles = [textwrap.fill(doc["scenarios"][name]["title"], 28) for name in scenarios]
    ax.set_xticklabels(titles, fontsize=8)
    ax.set_ylabel("records applied per second (log scale)")
    m = doc["machine"]
    ax.set_title(f"{doc['command']}: {m['cpu']}, {m['logical_cores']} cores, {m['python']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return f"chart written to {path}"
