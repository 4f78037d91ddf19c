import FoundationEssentials

/// Server-side HTML: every piece of data goes through ``escape(_:)``; the markup around it is the dashboard's own.
enum HTML {
    /// Text made safe for element content and for double- or single-quoted attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// A query value: everything but RFC 3986's unreserved characters percent-encoded.
    static func query(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0xF)])
            }
        }
        return out
    }

    /// `2026-12-03 19:00:04 UTC`.
    static func time(_ date: Date?) -> String {
        guard let date else { return "–" }
        let text = date.formatted(Date.ISO8601FormatStyle())
        return text.replacing("T", with: " ").replacing("Z", with: " UTC")
    }

    /// `12 s`, `3 min 4 s`, `2 h 5 min`.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.down))
        if seconds < 10 {
            let tenths = Int((seconds * 10).rounded())
            return "\(tenths / 10).\(tenths % 10) s"
        }
        if total < 60 { return "\(total) s" }
        if total < 3600 { return "\(total / 60) min \(total % 60) s" }
        return "\(total / 3600) h \((total % 3600) / 60) min"
    }

    /// A `<time>` with the date and how long ago (or ahead) it is.
    static func timeAgo(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "–" }
        let delta = now.timeIntervalSince(date)
        let relative = delta >= 0 ? duration(delta) + " ago" : "in " + duration(-delta)
        return "<time title=\"\(escape(time(date)))\">\(escape(relative))</time>"
    }
}

/// The page frame: navigation, the job lookup, styles, and the script for live updates.
struct PageLayout {
    let prefix: String
    let refreshSeconds: Double

    func page(title: String, active: String, body: String) -> String {
        let navigation = [("Queues", "/"), ("Workers", "/workers"), ("Scheduler", "/scheduler")].map { name, path in
            let current = name == active ? " aria-current=\"page\"" : ""
            return "<a href=\"\(HTML.escape(prefix + path))\"\(current)>\(name)</a>"
        }.joined()
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · RQ</title>
            <style>\(Self.styles)</style></head>
            <body><header><strong>RQ</strong><nav>\(navigation)</nav>
            <form method="get" action="\(HTML.escape(prefix))/job" class="lookup"><input name="id" placeholder="Job id" \
            aria-label="Job id"><button>Find</button></form>
            <label class="live"><input type="checkbox" id="live-toggle" checked> live</label>
            <span id="live-state"></span></header>
            <main id="live">\(body)</main>
            <script>\(script)</script>
            </body></html>
            """
    }

    /// Every few seconds, unless paused or the tab is hidden, fetches the same page's content part
    /// (`X-RQ-Partial: 1`) and puts it in place; a field being typed in is left alone.
    private var script: String {
        """
        (function(){const live=document.getElementById('live'),toggle=document.getElementById('live-toggle'),
        state=document.getElementById('live-state');
        async function refresh(){if(!toggle.checked||document.hidden)return;
        if(live.contains(document.activeElement)&&document.activeElement.tagName==='INPUT')return;
        try{const r=await fetch(location.href,{headers:{'X-RQ-Partial':'1'},cache:'no-store'});
        if(!r.ok)throw new Error(r.status);live.innerHTML=await r.text();state.textContent='';}
        catch(e){state.textContent='offline';}}
        setInterval(refresh,\(Int(refreshSeconds * 1000)));})();
        """
    }

    private static let styles = """
        body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
        header{display:flex;gap:1.5em;align-items:center;padding:.6em 1.2em;background:#1d2430;color:#fff}
        header a{color:#cfd8e6;text-decoration:none;margin-right:1em}header a[aria-current]{color:#fff;font-weight:600}
        .lookup{margin-left:auto}.live{font-size:12px}#live-state{color:#ffb4a8}
        main{padding:1em 1.2em}h1{font-size:20px;margin:.2em 0 .6em}h2{font-size:16px;margin:1.2em 0 .4em}
        table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:1em}
        th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #e3e6eb;vertical-align:top}
        th{background:#eef1f5;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
        a{color:#1f5fbf}code,pre{font:12px/1.4 ui-monospace,monospace}
        pre{background:#fff;border:1px solid #e3e6eb;padding:.6em;overflow:auto;max-height:28em}
        pre.error{border-color:#e5a3a3;background:#fff6f6}
        .status{display:inline-block;padding:0 .5em;border-radius:.8em;background:#e3e6eb;font-size:12px}
        .status.failed,.status.stopped{background:#f8d4d4}.status.finished{background:#d3efd9}
        .status.started,.status.busy{background:#d6e4fb}.status.suspended{background:#fde9c4}
        .status.warm{background:#fdf1d8}
        form.inline{display:inline}button{font:inherit;padding:.1em .6em;cursor:pointer}
        button.danger{color:#a11}.graphs{display:flex;gap:1em;flex-wrap:wrap}
        .graph{background:#fff;border:1px solid #e3e6eb;padding:.4em}.muted{color:#6b7280}
        dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;background:#fff;padding:.6em}
        dt{font-weight:600}dd{margin:0}progress{width:16em}.banner{background:#fde9c4;padding:.5em .8em}
        """
}
