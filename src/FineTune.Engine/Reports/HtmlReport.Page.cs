namespace FineTune.Reports;

public static partial class HtmlReport
{
    // Inline, so the page opens from a mail attachment or an air-gapped machine: system fonts, no external files.
    const string Style = """
        :root{--ink:#222;--muted:#666;--line:#e2e2e2;--blue:#2171b5;--red:#cb181d;--bg:#fafafa}
        *{box-sizing:border-box}
        body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
        main{max-width:1240px;margin:0 auto;padding:24px 28px 60px}
        h1{font-size:26px;margin:0}h2{font-size:20px;margin:0 0 10px;padding-top:8px}h3{font-size:15px;margin:18px 0 6px}
        section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:18px 0}
        .sub,.hint,.unknown,.note,.count{color:var(--muted)}.sub{margin:4px 0 14px;word-break:break-all}
        .tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px}
        .tile{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 16px}
        .tile .label{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
        .tile .value{font-size:30px;font-weight:600}.tile .note{font-size:12px}
        #tile-accuracy .value{color:var(--blue)}
        nav{margin-top:12px}nav a{margin-right:16px;color:var(--blue);text-decoration:none}
        dl.card{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0}dt{font-weight:600}dd{margin:0}
        .path{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px;color:var(--muted);word-break:break-all}
        .warn{color:#8a5a00}
        table{border-collapse:collapse}
        .table-wrap{max-height:640px;overflow:auto;border:1px solid var(--line)}.sortable{width:100%}.pairs{min-width:60%}
        .sortable th,.sortable td,.pairs th,.pairs td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left}
        .sortable th{cursor:pointer;user-select:none;background:#f3f3f3;position:sticky;top:0}
        .sortable th:hover{background:#e8eef6}
        th[aria-sort=ascending]::after{content:" \25B2";font-size:10px}th[aria-sort=descending]::after{content:" \25BC";font-size:10px}
        td.num,th.num,.sortable th[data-type=num]{text-align:right;font-variant-numeric:tabular-nums}
        td.bar{background:linear-gradient(90deg,#c6dbef calc(var(--v)*100%),transparent 0)}
        .sortable td.name{max-width:340px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
        .pairs img,.pairs .noimg{width:64px;height:64px;object-fit:cover}.arrow{color:var(--muted)}
        .cm-wrap{overflow:auto;max-height:1100px}
        .cm{font-size:9px;table-layout:fixed}
        .cm td{width:10px;height:10px;min-width:10px;padding:0;border:1px solid #f0f0f0;text-align:center}
        .cm th.row{text-align:right;padding:0 6px 0 0;max-width:180px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-weight:400;height:10px;line-height:10px}
        .cm th.corner{vertical-align:bottom;text-align:right;font-weight:400;color:var(--muted);padding:0 6px 4px 0;white-space:nowrap}
        .cm th.col{vertical-align:bottom;padding:0 0 4px;font-weight:400;width:10px;max-width:10px}
        .cm th.col span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;display:inline-block;max-height:150px;overflow:hidden;text-overflow:ellipsis;line-height:10px}
        .cm.big{font-size:13px}.cm.big td{width:36px;height:36px;min-width:36px}
        .cm.big th.row{height:36px;line-height:36px;font-size:13px}.cm.big th.col{width:36px;max-width:36px}.cm.big th.col span{line-height:36px;font-size:13px}
        .d1{background:#deebf7}.d2{background:#c6dbef}.d3{background:#9ecae1}.d4{background:#6baed6}.d5{background:#4292c6;color:#fff}.d6{background:#2171b5;color:#fff}.d7{background:#08519c;color:#fff}.d8{background:#08306b;color:#fff}
        .e1{background:#fee0d2}.e2{background:#fcbba1}.e3{background:#fc9272}.e4{background:#fb6a4a}.e5{background:#ef3b2c;color:#fff}.e6{background:#cb181d;color:#fff}.e7{background:#a50f15;color:#fff}.e8{background:#67000d;color:#fff}
        .gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:10px}
        figure.miss,figure.pred{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px;background:#fff;display:flex;gap:8px}
        figure.miss img,figure.miss .noimg,figure.pred img,figure.pred .noimg{width:72px;height:72px;object-fit:contain;flex:none;background:#f3f3f3}
        .noimg{display:flex;align-items:center;justify-content:center;font-size:10px;color:var(--muted);background:#eee}
        figcaption{font-size:12px;min-width:0}figcaption b{overflow-wrap:anywhere}
        .truth b,.top1 b{color:var(--blue)}.guess b{color:var(--red)}
        ol.top{margin:3px 0;padding-left:16px;color:var(--muted)}ol.top li.is-true{color:var(--blue)}
        .gallery.cams{grid-template-columns:repeat(auto-fill,minmax(150px,1fr))}
        figure.cam{margin:0;border:1px solid var(--line);border-radius:6px;padding:6px;background:#fff}
        figure.cam img,figure.cam .noimg{width:100%;aspect-ratio:1;object-fit:contain;display:block;background:#f3f3f3;margin-bottom:4px}
        figure.cam.right .guess b{color:var(--blue)}
        .legend{display:flex;align-items:center;gap:8px;font-size:12px;color:var(--muted);margin:6px 0}
        .legend .ramp{width:160px;height:10px;border-radius:2px;background:linear-gradient(90deg,#000080,#0000ff 11%,#00ffff 36%,#ffff00 64%,#ff0000 89%,#800000)}
        figcaption .path{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-size:11px}
        img.chart{max-width:100%;height:auto;display:block;margin:8px 0;border:1px solid var(--line)}img.chart.lr{max-width:700px}
        """;

    // Sorting every table of class "sortable" (the per-class table, the comparison's runs), and data-ready on <body> so a
    // headless browser can tell the script ran to its end.
    const string Script = """
        (function () {
          Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
            var heads = table.tHead.rows[0].cells, body = table.tBodies[0];
            var key = function (row, i) { var cell = row.cells[i]; return cell.hasAttribute('data-v') ? cell.getAttribute('data-v') : cell.textContent; };
            Array.prototype.forEach.call(heads, function (th, i) {
              th.addEventListener('click', function () {
                var ascending = th.getAttribute('aria-sort') !== 'ascending', numeric = th.getAttribute('data-type') === 'num';
                var rows = Array.prototype.map.call(body.rows, function (row, at) { return { row: row, at: at }; });
                rows.sort(function (a, b) {
                  var x = key(a.row, i), y = key(b.row, i);
                  var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
                  return (ascending ? c : -c) || a.at - b.at;
                });
                Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
                th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
                rows.forEach(function (r) { body.appendChild(r.row); });
              });
            });
          });
          document.body.setAttribute('data-ready', '1');
        })();
        """;

    /// <summary>The page's start, up to its content: the inline style and <paramref name="title"/> (the comparison page shares it).</summary>
    internal static void WriteHead(TextWriter w, string title)
    {
        w.WriteLine("<!DOCTYPE html>");
        w.WriteLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        w.WriteLine("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        w.WriteLine($"<title>{Html.Escape(title)}</title>");
        w.WriteLine($"<style>\n{Style}\n</style></head><body><main>");
    }

    /// <summary>The page's end: <paramref name="footer"/> (HTML), then the inline script.</summary>
    internal static void WriteTail(TextWriter w, string footer)
    {
        w.WriteLine($"<footer class=\"hint\">{footer}</footer>");
        w.WriteLine($"</main><script>\n{Script}\n</script></body></html>");
    }
}
