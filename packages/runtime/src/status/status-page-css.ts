// The status page's stylesheet: dense tables, one colour per state, readable in light and dark.
export const STATE_CSS = `
:root{--fg:#1f2328;--dim:#656d76;--bg:#fff;--line:#d0d7de;--head:#f6f8fa;
--ready:#1a7f37;--syncing:#0969da;--stale:#9a6700;--failing:#cf222e}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--dim:#8d96a0;--bg:#0d1117;--line:#30363d;--head:#161b22;
--ready:#3fb950;--syncing:#4493f8;--stale:#d29922;--failing:#f85149}}
*{box-sizing:border-box}
body{margin:0;font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.top{display:flex;justify-content:space-between;align-items:center;padding:10px 18px;border-bottom:4px solid var(--line);background:var(--head)}
.top-ready{border-color:var(--ready)}.top-syncing{border-color:var(--syncing)}
.top-stale{border-color:var(--stale)}.top-failing{border-color:var(--failing)}
h1{display:inline;font-size:18px;margin:0 10px 0 0}
h2{font-size:14px;margin:18px 0 6px;text-transform:uppercase;letter-spacing:.04em;color:var(--dim)}
main{padding:0 18px 10px}
.overall{text-align:right}.overall .st{font-size:15px;padding:3px 12px}
.dim{color:var(--dim);font-size:12px}
.t,.nw{white-space:nowrap}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600;font-size:12px;white-space:nowrap}
td.num{text-align:right;white-space:nowrap}
.st{display:inline-block;min-width:64px;text-align:center;border-radius:3px;padding:1px 6px;font-weight:700;
font-size:11px;letter-spacing:.05em;color:#fff}
.st-ready{background:var(--ready)}.st-syncing{background:var(--syncing)}
.st-stale{background:var(--stale)}.st-failing{background:var(--failing)}
tr.row-failing td{background:color-mix(in srgb,var(--failing) 7%,transparent)}
tr.row-stale td{background:color-mix(in srgb,var(--stale) 7%,transparent)}
.ok{color:var(--ready)}.bad{color:var(--failing);font-weight:600}
.err{color:var(--failing);margin-top:2px;word-break:break-word}
.cause{color:var(--fg);font-weight:600}
.warn{color:var(--stale);font-weight:600;margin-top:2px}
.reasons{margin:8px 18px;padding:6px 6px 6px 28px;border-left:4px solid var(--stale);background:var(--head)}
.reasons-failing{border-color:var(--failing)}.reasons-syncing{border-color:var(--syncing)}
.probe-form{margin:10px 0 4px}
button{font:inherit;font-weight:600;padding:4px 12px;border:1px solid var(--line);border-radius:4px;
background:var(--head);color:var(--fg);cursor:pointer}
.probe{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word;
padding:6px 8px;background:var(--head);border:1px solid var(--line);border-radius:4px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
svg{background:var(--head);border:1px solid var(--line);border-radius:4px;max-width:100%;height:auto}
svg .ct{font-size:12px;font-weight:600;fill:var(--fg)}svg .ax{font-size:10px;fill:var(--dim)}
svg .grid{stroke:var(--line);stroke-width:1}svg .bar{fill:var(--syncing);opacity:.8}
svg .fail{fill:var(--failing)}svg .fail-t{fill:var(--failing);font-weight:700}
footer{padding:10px 18px;border-top:1px solid var(--line)}
a{color:var(--syncing)}
`;
