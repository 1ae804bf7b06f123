"""``vidrestore serve``: a local web app over the Python API (issue 22).

Data flow of a request: ``security`` (roots, token, host) -> ``browse`` (pick) / ``form`` +
``settings`` (set: the page's settings -> a checked :class:`~vidrestore.api.JobSpec`) -> ``jobs``
(the job list and preview cache in the state folder) -> ``worker`` (one child process per job or
preview, calling :func:`vidrestore.api.run`). ``app`` holds the routes, ``server`` starts uvicorn;
``static/`` is the page (no build step).
"""
