"""The HTML report's page, a Jinja2 template that reports/html.py renders with autoescape on.

It is a Python string rather than a `.html.j2` file so the package needs no data files. Every
`{{ value }}` is escaped by autoescape (markupsafe turns & < > " ' into entities), in text and in
quoted attributes alike, so user text (gate names, reasons, errors, class names, settings,
file names) can never become markup. Two things are not plain text:
- the curve's SVG, the one `|safe`: drawn by matplotlib from the outcome (which escapes the
  gate name in its title) and checked by reports/inline_svg.py to be a plain drawing;
- the pictures' `data:image/png;base64,...` URIs: escaped like every value, which leaves them
  as they are, since base64 uses only letters, digits, `+`, `/` and `=`.
The CSS is literal template text, never a value.
"""

PAGE = """\
{% macro key_values(rows) %}<table class="kv">
{%- for key, value in rows %}<tr><td>{{ key }}</td><td>{{ value }}</td></tr>{% endfor -%}
</table>{% endmacro %}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 75em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-bottom: 0.3em; } h3 { margin: 1em 0 0.3em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; vertical-align: top; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
table.kv td { text-align: left; font-family: ui-monospace, monospace; font-size: 12px; }
section.gate { border-top: 2px solid #ccc; margin-top: 2em; padding-top: 0.5em; }
.status { padding: 0.1em 0.5em; border-radius: 0.3em; font-size: 0.8em; color: white; }
.passed .status, tr.passed td.status { background: #2e7d32; color: white; }
.failed .status, tr.failed td.status { background: #c62828; color: white; }
.error .status, tr.error td.status { background: #ef6c00; color: white; }
.not-run .status, tr.not-run td.status { background: #757575; color: white; }
.shard .status, tr.shard td.status, .unknown .status, tr.unknown td.status {
  background: #455a64; color: white; }
td.status { text-align: center; font-size: 1em; border-radius: 0; }
pre.error { background: #fff3e0; padding: 0.6em; white-space: pre-wrap; }
.gallery { display: flex; flex-wrap: wrap; gap: 1em; }
figure.pair { margin: 0; } figure.pair figcaption { font-size: 12px; }
img.example { image-rendering: pixelated; border: 1px solid #ddd; margin-right: 2px; }
figure.curve svg { max-width: 100%; height: auto; }
.muted { color: #666; }
table.images tr.fooled td:nth-child(4) { color: #c62828; font-weight: bold; }
table.images tr.certified td:nth-child(4) { color: #2e7d32; }
table.images tr.undecided td:nth-child(4) { color: #ef6c00; font-weight: bold; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="muted">created {{ created }}; {{ gates|length }} gate(s)</p>
<table class="summary"><tr>{% for column in columns %}<th>{{ column }}</th>{% endfor %}</tr>
{% for gate in gates %}
<tr class="{{ gate.css }}"><td><a href="#{{ gate.id }}">{{ gate.name }}</a></td>
{%- for value in gate.row %}<td{% if loop.first %} class="status"{% endif %}>{{ value }}</td>
{%- endfor %}</tr>
{% endfor %}
</table>
{% for gate in gates %}
<section class="gate {{ gate.css }}" id="{{ gate.id }}" data-gate="{{ gate.name }}">
<h2>{{ gate.name }} <span class="status">{{ gate.status }}</span></h2>
{% if gate.nodeid %}
<p class="muted"><code>{{ gate.nodeid }}</code></p>
{% endif %}
{% if gate.verdict %}
<p><strong>{{ gate.verdict.word }}</strong> ({{ gate.verdict.mode }} mode): \
{{ gate.verdict.text }}</p>
{% else %}
<p><strong>No verdict:</strong> the gate {{ gate.no_verdict }}.</p>
{% endif %}
{% for heading, items in (("reasons", gate.reasons), ("notes", gate.notes)) if items %}
<h3>{{ heading }}</h3>
<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>
{% endfor %}
{% if gate.error %}
<pre class="error">{{ gate.error }}</pre>
{% endif %}
{% if gate.certify %}
<h3>exact verdict (search: certify)</h3>
{{ key_values(gate.certify) }}
<h3>attacked images</h3>
<table class="images"><tr>{% for column in image_columns %}<th>{{ column }}</th>{% endfor %}</tr>
{% for row in gate.images %}
<tr class="{{ row[3] }}">{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% endif %}
{% if gate.compare %}
<h3>against the baseline</h3>
{{ key_values(gate.compare) }}
{% endif %}
{% if gate.examples %}
<h3>most confident adversarial examples</h3>
<div class="gallery">
{%- for example in gate.examples %}<figure class="pair">\
<img class="example" src="{{ example.clean }}" alt="{{ example.where }}, clean">\
<img class="example" src="{{ example.adversarial }}" alt="{{ example.where }}, adversarial">\
<figcaption><strong>{{ example.caption }}</strong><br>{{ example.where }}<br>\
pixel {{ example.changes }}</figcaption></figure>
{%- endfor %}</div>
{% endif %}
{% if gate.svg or gate.svg_problem %}
<h3>robustness curve</h3>
{% endif %}
{% if gate.svg %}
{# The one unescaped value: matplotlib's drawing, checked by reports/inline_svg.py. #}
<figure class="curve">{{ gate.svg|safe }}</figure>
{% elif gate.svg_problem %}
<p class="muted">robustness curve left out: {{ gate.svg_problem }}</p>
{% endif %}
{% for heading, rows in gate.tables %}
<h3>{{ heading }}</h3>
{{ key_values(rows) }}
{% endfor %}
</section>
{% endfor %}
</body>
</html>
"""

#: A gate's verdict and reasons on its pytest-html row (plugin/html_extras.py).
VERDICT = """\
<div><strong>onepixel gate {{ name }}: {{ status }}</strong><ul>
{%- for reason in reasons %}<li>{{ reason }}</li>{% endfor %}</ul></div>"""
