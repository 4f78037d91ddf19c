import FoundationEssentials

/// Inline SVG line graphs of the sampler's ring buffer: no script, no library.
enum Graph {
    struct Series {
        let name: String
        let color: String
        let values: [Int]
    }

    static func svg(title: String, series: [Series], times: [Date], width: Int = 460, height: Int = 150) -> String {
        let left = 36.0
        let right = 8.0
        let top = 22.0
        let bottom = 20.0
        let plotWidth = Double(width) - left - right
        let plotHeight = Double(height) - top - bottom
        let count = series.map(\.values.count).max() ?? 0
        let maximum = max(1, series.flatMap(\.values).max() ?? 0)
        var svg = """
            <svg class="graph" role="img" aria-label="\(HTML.escape(title))" width="\(width)" height="\(height)" \
            viewBox="0 0 \(width) \(height)" xmlns="http://www.w3.org/2000/svg">
            <text x="\(left)" y="14" font-size="12" font-weight="600">\(HTML.escape(title))</text>
            <line x1="\(left)" y1="\(top + plotHeight)" x2="\(left + plotWidth)" y2="\(top + plotHeight)" stroke="#9aa3af"/>
            <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(top + plotHeight)" stroke="#9aa3af"/>
            <text x="\(left - 4)" y="\(top + 4)" font-size="10" text-anchor="end">\(maximum)</text>
            <text x="\(left - 4)" y="\(top + plotHeight)" font-size="10" text-anchor="end">0</text>
            """
        var legendX = Double(width) - right
        for entry in series.reversed() {
            let label = "\(entry.name) \(entry.values.last ?? 0)"
            legendX -= Double(label.count * 6 + 14)
            svg += """
                <rect x="\(legendX)" y="6" width="8" height="8" fill="\(entry.color)"/>\
                <text x="\(legendX + 11)" y="14" font-size="11">\(HTML.escape(label))</text>
                """
        }
        if count < 2 {
            svg += """
                <text x="\(left + plotWidth / 2)" y="\(top + plotHeight / 2)" font-size="11" text-anchor="middle" \
                fill="#6b7280">collecting samples…</text>
                """
        } else {
            for entry in series {
                let points = entry.values.enumerated().map { index, value in
                    let x = left + plotWidth * Double(index) / Double(count - 1)
                    let y = top + plotHeight - plotHeight * Double(value) / Double(maximum)
                    return "\(Int(x.rounded())),\(Int(y.rounded()))"
                }
                svg += """
                    <polyline fill="none" stroke="\(entry.color)" stroke-width="1.5" points="\(points.joined(separator: " "))"/>
                    """
            }
            if let first = times.first, let last = times.last {
                let span = HTML.duration(last.timeIntervalSince(first))
                svg += """
                    <text x="\(left)" y="\(height - 5)" font-size="10" fill="#6b7280">last \(HTML.escape(span))</text>
                    """
            }
        }
        return svg + "</svg>"
    }
}
