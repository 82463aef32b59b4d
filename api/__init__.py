"""The outermost layer: the only package that knows HTTP and the command line.

- ``http/``         Litestar app: controllers, schemas, problem details, auth, pages
- ``composition/``  one request's path through governance, registry and explain
                    (service, runtime), the settings and the home folder
- ``cli/``          the ``twinreg`` command: init, serve, demo, bench, audit, tokens

``http`` and ``cli`` call ``composition``; ``composition`` imports neither, and ``http``
never imports ``cli`` (so ``twinreg serve`` loads no benchmark code).
"""
