// Thin wrappers over the vendored ECharts (window.echarts): one instance per element, resized with it.

const observed = new WeakMap();

export function draw(el, option) {
  if (!el.isConnected) return null; // the page was left while its data loaded: nothing to draw into
  let chart = window.echarts.getInstanceByDom(el);
  if (!chart) {
    chart = window.echarts.init(el, null, { renderer: "canvas" });
    const observer = new ResizeObserver(() => chart.resize({ animation: { duration: 0 } })); // no replay on resize
    observer.observe(el);
    observed.set(el, observer);
    chart.on("finished", () => { el.dataset.settled = "true"; }); // animations done (screenshots wait for it)
  }
  delete el.dataset.settled;
  chart.setOption({ animationDuration: 250, animationDurationUpdate: 250, ...option }, true);
  el.dataset.drawn = "true";
  return chart;
}

// Charts render on the next animation frame: dispose them before their page leaves the document.
export function disposeWithin(root) {
  for (const el of root.querySelectorAll("[data-drawn]")) {
    observed.get(el)?.disconnect();
    window.echarts.getInstanceByDom(el)?.dispose();
  }
}

const SUPPRESSED_COLOR = "#d4d4d8";

// Gender × age grid; suppressed cells are drawn grey and labelled, never given a value.
export function heatmapOption(slice, genders, ages, k) {
  const yIndex = Object.fromEntries(genders.map((g, i) => [g, i]));
  const xIndex = Object.fromEntries(ages.map((a, i) => [a, i]));
  const shown = [];
  const hidden = [];
  for (const cell of slice.cells) {
    const point = [xIndex[cell.age], yIndex[cell.gender]];
    if (cell.suppressed) hidden.push([...point, 0]);
    else shown.push([...point, cell.visits]);
  }
  const max = Math.max(k, ...shown.map((p) => p[2]));
  return {
    tooltip: {
      formatter: (p) => `${genders[p.value[1]]}, ${ages[p.value[0]]}: ` +
        (p.seriesIndex === 1 ? `suppressed (fewer than ${k} visits)` : `${p.value[2]} visits`),
    },
    grid: { left: 70, right: 20, top: 10, bottom: 70 },
    xAxis: { type: "category", data: ages, name: "age", nameLocation: "middle", nameGap: 28, splitArea: { show: true } },
    yAxis: { type: "category", data: genders, splitArea: { show: true } },
    visualMap: { min: 0, max, calculable: true, orient: "horizontal", left: "center", bottom: 0,
      seriesIndex: 0, inRange: { color: ["#e0f2fe", "#0369a1"] } },
    series: [
      { name: "visits", type: "heatmap", data: shown, label: { show: true } },
      { name: "suppressed", type: "heatmap", data: hidden, itemStyle: { color: SUPPRESSED_COLOR },
        label: { show: true, formatter: () => "supp.", color: "#52525b" } },
    ],
  };
}

export function barOption(categories, series, { yName = "", horizontal = false, stack = false } = {}) {
  const cat = { type: "category", data: categories, axisLabel: { interval: 0, rotate: horizontal ? 0 : 30 } };
  const val = { type: "value", name: yName };
  return {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: horizontal ? 150 : 50, right: 20, top: 30, bottom: horizontal ? 30 : 70 },
    xAxis: horizontal ? val : cat,
    yAxis: horizontal ? { ...cat, inverse: true } : val,
    series: series.map((s) => ({ type: "bar", stack: stack ? "total" : undefined, ...s })),
  };
}

export function lineOption(categories, series, rightAxis) {
  const yAxis = [{ type: "value" }];
  if (rightAxis) yAxis.push({ type: "value", name: rightAxis, axisLabel: { formatter: (v) => `${(v * 100).toFixed(0)}%` } });
  return {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 50, right: rightAxis ? 60 : 20, top: 30, bottom: 40 },
    xAxis: { type: "category", data: categories },
    yAxis,
    series: series.map((s) => ({ type: "line", ...s })),
  };
}

// Screens (left) → stores (right) from /v1/analytics/flow/chart: every band already rests on >= k claims.
// Nodes keep a fixed order (biggest first, "other" last) instead of ECharts' relaxation, which
// scatters 60 stores; the caller sizes the chart with sankeyHeight().
function sankeyNodes(chart) {
  const total = {};
  for (const l of chart.links) {
    total[l.source] = (total[l.source] || 0) + l.claims;
    total[l.target] = (total[l.target] || 0) + l.claims;
  }
  const rank = (n) => (n.kind === "other" ? 1 : 0);
  return [...chart.nodes].sort((a, b) => rank(a) - rank(b) || total[b.id] - total[a.id] || a.id.localeCompare(b.id));
}

export const sankeyHeight = (chart) => Math.max(360, 26 * chart.nodes.filter((n) => n.kind !== "screen").length + 40);

export function sankeyOption(chart) {
  const colour = { screen: "#0369a1", store: "#b45309", other: "#a1a1aa" };
  const names = Object.fromEntries(chart.nodes.map((n) => [n.id, n.name]));
  return {
    tooltip: { trigger: "item", formatter: (p) => (p.dataType === "edge"
      ? `${names[p.data.source]} → ${names[p.data.target]}: ${p.data.value} claims` : `${names[p.name]}`) },
    series: [{ type: "sankey", left: 10, right: 170, top: 10, bottom: 10, nodeGap: 8, draggable: false,
      layoutIterations: 0,
      data: sankeyNodes(chart).map((n) => ({ name: n.id, itemStyle: { color: colour[n.kind] },
        label: { formatter: () => n.name } })),
      links: chart.links.map((l) => ({ source: l.source, target: l.target, value: l.claims })),
      emphasis: { focus: "adjacency" }, lineStyle: { color: "gradient", curveness: 0.5, opacity: 0.35 } }],
  };
}
