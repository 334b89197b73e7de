"""HTTP stage: every GET newswire makes. The client with its caps, deadlines and hop-by-hop
redirects (client), the transports (aiohttp_transport; httpx's own), the SSRF guard on every
connection (guard), the per-host gate (hosts), bounded Content-Encoding decoding
(content_coding), and the fetch of a feed and of an article page (fetch).

May import: the shared modules (models, errors, settings, metrics, text, urls, dates); no
other stage."""
