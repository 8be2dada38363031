"""A demo page at ``/``: type a message and watch the tokens arrive.

One self-contained HTML file (no build step, no CDN: it works offline),
served outside production unless ``APP_DEMO_PAGE`` says otherwise. Its
Content-Security-Policy allows only the page's own script and style.
"""
