"""Checks the screen-page browser tests share, as JavaScript run in the page."""

# Points inside the notice where content would show through if anything covered it.
UNCOVERED = """(notice) => {
  const r = notice.getBoundingClientRect();
  const points = [[0.02, 0.5], [0.5, 0.1], [0.5, 0.5], [0.5, 0.9], [0.98, 0.5]];
  const at = ([x, y]) => document.elementFromPoint(r.left + x * r.width, r.top + y * r.height);
  return points.every((p) => notice.contains(at(p)));
}"""
