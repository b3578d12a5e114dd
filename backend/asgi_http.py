"""HTTP for the ASGI server: Django's WSGI handler, run on a pool of threads.

Django's own ASGI handler runs each sync middleware's hooks and the view through
separate hops between the event loop and a worker thread (about 17 a request with our
middleware), and it runs the sync code of all requests of a process on one thread.
Samby's views and middleware are all sync, so this app runs the whole request, the
middleware chain included, in one call on a thread of a small pool and sends the
answer from the event loop: one hop a request, and requests of a process overlap while
one waits on PostgreSQL. Websockets stay on Channels (backend/asgi.py)."""

from concurrent.futures import ThreadPoolExecutor
from tempfile import SpooledTemporaryFile

from asgiref.sync import sync_to_async
from asgiref.wsgi import WsgiToAsgiInstance
from django.core.handlers.wsgi import WSGIHandler

BODY_IN_MEMORY = 64 * 1024  # larger request bodies spool to a temporary file


class DjangoHttp:
    def __init__(self, handler: WSGIHandler, threads: int) -> None:
        self.handler = handler
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    async def __call__(self, scope, receive, send) -> None:
        await _Exchange(self.handler).serve(scope, receive, send, self.executor)


class _Exchange(WsgiToAsgiInstance):
    """One request: asgiref builds the WSGI environ; the answer is sent whole."""

    async def serve(self, scope, receive, send, executor: ThreadPoolExecutor) -> None:
        self.scope = scope
        with SpooledTemporaryFile(max_size=BODY_IN_MEMORY) as body:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client left before it had sent its request
                body.write(message.get("body", b""))
                if not message.get("more_body"):
                    break
            body.seek(0)
            respond = sync_to_async(self.respond, thread_sensitive=False, executor=executor)
            start, content = await respond(body)
        await send(start)
        await send({"type": "http.response.body", "body": content})

    def respond(self, body) -> tuple[dict, bytes]:
        try:
            environ = self.build_environ(self.scope, body)
        except ValueError:  # asgiref's limit on repeated headers
            start = {
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
            return start, b"Bad Request: too many repeated headers"
        result = self.wsgi_application(environ, self.start_response)
        try:
            content = b"".join(result)
        finally:
            # Django's response.close() sends request_finished (database connection
            # back to the pool); it must run on this thread.
            close = getattr(result, "close", None)
            if close is not None:
                close()
        start = self.response_start
        # Django's WSGI handler writes cookies as " name=value" (Morsel.output with an
        # empty header name); its ASGI handler strips them, and so do we.
        start["headers"] = [(name, value.strip()) for name, value in start["headers"]]
        return start, content
