"""The web application (Vietnamese UI): a server-rendered backend-for-frontend that talks to
planning, tasks, evaluation and reporting over HTTP only, with the signed-in person's bearer
token (``woms serve web``, port 8100; ``docs/web.md``)."""
