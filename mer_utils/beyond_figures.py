"""Notebook 08's figure: every row of the extended Table 1, its mean and 95 % interval, by protocol.

Takes :func:`mer_utils.beyond.extended_summary`'s table and returns a
:class:`matplotlib.figure.Figure`; :func:`mer_utils.notebook.save_figure` saves it.
"""

import numpy as np

#: Marker colour of each protocol (:data:`mer_utils.catalogue.PROTOCOLS`).
PROTOCOL_COLORS = {"paper": "tab:red", "never-tuned": "tab:blue"}
#: Marker of each family of models.
FAMILY_MARKERS = {"paper": "o", "baseline": "s", "pretrained": "D"}


def plot_extended_table(summary, *, metric="balanced_accuracy", reference=None, chance=0.5):
    """Mean ``metric`` per model over the outer folds, with its 95 % interval, one line per model.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`mer_utils.beyond.extended_summary` (columns ``model, modality,
        label, protocol, family, metric, runs, mean, ci_low, ci_high``).
    metric : str
        A score of :func:`mer_utils.metrics.evaluate`.
    reference : str, optional
        A model whose mean is drawn as a vertical line (e.g. ``"fused"``).
    chance : float
        The score of guessing, drawn dotted: ``1 / n_classes`` for (balanced) accuracy.

    Returns
    -------
    matplotlib.figure.Figure
        Models grouped by modality (audio, lyrics, both), in the summary's
        order; colour = protocol, marker = family; ``chance`` dotted.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    rows = summary[(summary["metric"] == metric) & (summary["runs"] > 0)]
    if rows.empty:
        raise ValueError(f"no model has {metric!r} scores to plot: run the models first")
    order = {"audio": 0, "lyrics": 1, "both": 2}
    rows = rows.assign(rank=rows["modality"].map(lambda m: order.get(m, 3))).sort_values("rank", kind="stable")
    y = np.arange(len(rows))[::-1]
    fig, ax = plt.subplots(figsize=(11, 0.38 * len(rows) + 1.6))
    for position, row in zip(y, rows.itertuples(index=False)):
        color = PROTOCOL_COLORS.get(row.protocol, "grey")
        low, high = (row.ci_low, row.ci_high) if row.runs > 1 else (row.mean, row.mean)
        ax.plot([low, high], [position, position], color=color, linewidth=2, alpha=0.6)
        ax.plot(row.mean, position, FAMILY_MARKERS.get(row.family, "o"), color=color, markersize=7)
    ax.set_yticks(y, [f"{row.modality}: {row.label}" for row in rows.itertuples(index=False)], fontsize="small")
    ax.axvline(chance, color="grey", linestyle=":", linewidth=1)
    reference = reference if reference in set(rows["model"]) else None
    if reference is not None:
        ax.axvline(rows.loc[rows["model"] == reference, "mean"].iloc[0], color=PROTOCOL_COLORS["paper"],
                   linestyle="--", linewidth=1, alpha=0.6)
    runs = sorted(set(rows["runs"]))
    extent = rows[["ci_low", "ci_high", "mean"]].to_numpy(dtype=float)  # a one-fold row has no interval
    low, high = min(chance - 0.1, np.nanmin(extent) - 0.02), min(1.0, np.nanmax(extent) + 0.02)
    ax.set(xlabel=f"{metric.replace('_', ' ')} on the outer folds (mean, 95 % interval; {'/'.join(map(str, runs))} "
                  "folds)", xlim=(low, high))
    handles = [Line2D([], [], color=c, marker="o", linestyle="-", label=f"protocol: {p}")
               for p, c in PROTOCOL_COLORS.items() if p in set(rows["protocol"])]
    handles += [Line2D([], [], color="black", marker=m, linestyle="", label=f"family: {f}")
                for f, m in FAMILY_MARKERS.items() if f in set(rows["family"])]
    if reference is not None:
        handles.append(Line2D([], [], color=PROTOCOL_COLORS["paper"], linestyle="--", label=f"{reference} (paper)"))
    ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Table 1 extended: every model on the same outer folds")
    fig.tight_layout()
    return fig
