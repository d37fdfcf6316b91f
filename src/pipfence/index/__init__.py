"""Index layer: the simple repository API, read from one source at a time.

It fetches what it is asked, from where it is told: which source a name may come from is the
fence's question (`pipfence.models.fence`), asked by the project layer.

    client.py           IndexClient: project pages; hands metadata and downloads to
    remote_metadata.py    MetadataReader: PEP 658 files, range requests, the whole wheel
    downloads.py          Downloader: files verified while they stream
    page_answers.py       a page request's headers, an answer's digest, page errors (pure)
    simple.py           parse_project_page: PEP 691 JSON and PEP 503 HTML     (pure)
    releases.py         a page's files grouped by version, DistFiles made on demand (pure)
    page_blob.py        a parsed page as one cache blob and back                (pure)
    metadata.py         a wheel's METADATA read through its zip (RangeFile)
    cache.py            IndexCache: pages revalidated, metadata and files by sha256
    folder.py           a ``file:`` source: a PEP 503 tree on disk
    http/               Http: credentials, proxies, TLS, redirects, retries, transports
"""
