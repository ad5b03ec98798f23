"""Where lead-in screens send people, as a Sankey chart whose every band rests on at least ``k`` claims.

A table of screen × store pairs in a mall of 60 stores is mostly suppressed cells. The chart keeps
each pair with at least ``k`` claims, merges a screen's smaller pairs into one "other stores" band
when together they reach ``k``, and pools what is still under ``k`` across screens into "other
screens → other stores" (dropped if even that stays under ``k``). No band is under ``k``; a merged
band sums only withheld pairs of one screen, none of which is published anywhere, so subtraction
recovers none of them.
"""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session, col, select

from screens.db.tables import Screen, Store
from screens.schemas.flow_chart import OTHER_SCREENS, OTHER_STORES, FlowChart, FlowChartLink, FlowNode
from screens.services.analytics import Window, flow_counts, published


def flow_chart(session: Session, window: Window, store_ids: frozenset[str] | None) -> FlowChart:
    """Screen → store claims over ``window`` as Sankey nodes and links (k from the window)."""
    k = window.k
    # Exact counts stay in here: only the merged bands below leave the service.
    links: list[FlowChartLink] = []
    rest: defaultdict[str, int] = defaultdict(int)
    merged = withheld = 0
    for screen_id, store_id, _, claims in flow_counts(session, window, store_ids):
        if published(claims, k):
            links.append(FlowChartLink(source=screen_id, target=store_id, claims=claims))
        elif claims:
            rest[screen_id] += claims
            merged += 1
    pooled = 0
    for screen_id, claims in sorted(rest.items()):
        if published(claims, k):
            links.append(FlowChartLink(source=screen_id, target=OTHER_STORES, claims=claims))
        else:
            pooled += claims
            withheld += 1
    if published(pooled, k):
        links.append(FlowChartLink(source=OTHER_SCREENS, target=OTHER_STORES, claims=pooled))
        withheld = 0
    return FlowChart(
        window=window.public(),
        nodes=_nodes(session, links),
        links=links,
        merged_links=merged,
        withheld_links=withheld,
    )


def _nodes(session: Session, links: list[FlowChartLink]) -> list[FlowNode]:
    screens = sorted({link.source for link in links} - {OTHER_SCREENS})
    stores = sorted({link.target for link in links} - {OTHER_STORES})
    zones = dict(session.exec(select(Screen.id, Screen.zone).where(col(Screen.id).in_(screens))).all())
    names = dict(session.exec(select(Store.id, Store.name).where(col(Store.id).in_(stores))).all())
    nodes = [FlowNode(id=s, kind="screen", name=s + (f" ({zones[s]})" if zones.get(s) else "")) for s in screens]
    nodes += [FlowNode(id=s, kind="store", name=names.get(s, s)) for s in stores]
    for other in (OTHER_SCREENS, OTHER_STORES):
        if any(other in (link.source, link.target) for link in links):
            nodes.append(FlowNode(id=other, kind="other", name=other))
    return nodes
