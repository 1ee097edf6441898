# Acme's own messages, and a built-in one replaced. Messages missing here come from the built-in
# catalog; messages missing in another language come from English.
acme-tagline = { $product } · one account for every Acme app
acme-help = Trouble signing in? Call the Acme help desk on extension 4357.
# The consent description of Acme's own scope `reports`.
scope-reports = Read your Acme reports
