"""axe-core inside Chromium: the WCAG 2.2 A/AA rules, run on the page a test has open.

axe-core is vendored (tests/e2e/vendor/axe.min.js, MPL-2.0, from the npm package
`axe-core`; see vendor/README.md): nothing is downloaded while the tests run.

Injection and the CSP: the portal's Content-Security-Policy forbids inline scripts, so
`page.add_script_tag(content=...)` would be blocked (and reported as a CSP violation). The
source is instead evaluated through the DevTools protocol (`page.evaluate`), which runs in
the page but is not governed by the page's CSP; axe's checks then run the same way. The
pages keep their real CSP (no `bypass_csp`), so a test can still assert that the page
logged no CSP violation while axe ran.
"""

from __future__ import annotations

from pathlib import Path

AXE_PATH = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe's tags; 2.2 added AA rules only).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_RUN = """
async ({tags, exclude}) => {
  const context = exclude.length ? {include: [document], exclude: exclude.map(s => [s])}
                                 : document;
  const results = await axe.run(context, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return results.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}
"""


def _source() -> str:
    return AXE_PATH.read_text(encoding="utf-8")


def axe_violations(page, *, exclude: tuple[str, ...] = ()) -> list[dict]:
    """The WCAG 2.2 A/AA violations axe finds on the open page (outside `exclude`)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_source())
    return page.evaluate(_RUN, {"tags": WCAG_TAGS, "exclude": list(exclude)})


def describe(violations: list[dict]) -> str:
    """One line per violation and one per failing node, for an assertion message."""
    lines = []
    for violation in violations:
        lines.append(f"  [{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:10]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"      {node['target']} — {summary[:300]}")
        if len(violation["nodes"]) > 10:
            lines.append(f"      … and {len(violation['nodes']) - 10} more")
    return "\n".join(lines)


def assert_accessible(page, *, exclude: tuple[str, ...] = ()) -> None:
    """Fail with every violation (rule, impact, node targets) if axe finds any."""
    violations = axe_violations(page, exclude=exclude)
    assert not violations, f"axe: WCAG 2.2 A/AA violations on {page.url}:\n" + describe(violations)
