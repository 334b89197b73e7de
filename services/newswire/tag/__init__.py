"""Tag stage: the places and regions an article is about. The tagger (tagger: scores, focus,
watchlists), the name matcher over generated spellings (mentions, names), the gazetteer built
from GeoNames and regions.yaml (gazetteer, gazetteer_build) and distances (geo).

May import: the shared modules (models, errors, settings, metrics, text, urls, dates) and
the config catalog; no other stage. It runs in the worker processes (newswire.worker)."""
