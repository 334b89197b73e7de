"""Extract stage: clean text and metadata from a page or a feed entry. trafilatura's passes
and the fallback chain (extractor), what the page says about itself (pageinfo), boilerplate
removal (clean) and language detection (language).

May import: the shared modules (models, errors, settings, metrics, text, urls, dates); no
other stage. It runs in the worker processes (newswire.worker)."""
