acme-tagline = { $product } · ein Konto für alle Acme-Anwendungen
scope-reports = Ihre Acme-Berichte lesen
# `acme-help` is not translated yet: German pages show it in English.
