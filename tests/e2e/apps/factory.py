"""Application factories for the loading tests."""


def create_app(greeting="hi", punctuation="!"):
    body = f"{greeting}{punctuation}".encode()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    return app


application = create_app("default")
