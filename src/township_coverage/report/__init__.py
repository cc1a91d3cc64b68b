"""Report outputs: tables (CSV, XLSX), static maps and the atlas, the progress chart, HTML and Word reports."""
