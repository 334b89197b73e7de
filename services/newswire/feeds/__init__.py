"""Feeds stage: what a fetched feed body says. Parsing RSS 0.9x/1.0/2.0, Atom and JSON Feed
into FeedEntries (poll, jsonfeed) and each feed's polling schedule and backoff (schedule).

May import: the shared modules (models, errors, settings, metrics, text, urls, dates); no
other stage. Fetching a feed is the http stage's; the pipeline joins them."""
