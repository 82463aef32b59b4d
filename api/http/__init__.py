"""The HTTP surface: the Litestar app, one controller per resource, request and response
schemas, the one table mapping domain errors to problem details, auth and rate limits,
and the server-rendered pages. Calls the composition; never the command line.
"""
