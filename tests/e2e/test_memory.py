"""The master freezes its objects before each fork, so a worker's garbage
collections leave the pages it shares with the master alone."""

import json


def _probe(server):
    raw = server.request(b"GET / HTTP/1.0\r\n\r\n")
    assert raw.startswith(b"HTTP/1.0 200"), raw
    return json.loads(raw.partition(b"\r\n\r\n")[2])


def test_a_preloaded_apps_objects_are_outside_the_workers_collections(serve):
    report = _probe(serve(["gc_probe:app", "--preload"]))
    assert report["frozen"] >= 1000
    assert report["table_examined"] is False


def test_garbage_the_preloaded_app_left_is_collected_not_frozen(serve):
    report = _probe(serve(["gc_probe:app", "--preload"]))
    assert report["import_garbage_alive"] is False


def test_an_app_its_worker_imports_is_collected_as_usual(serve):
    report = _probe(serve(["gc_probe:app"]))
    # The master's own objects are frozen; the app's, made after the fork, are not.
    assert report["frozen"] > 0
    assert report["table_examined"] is True
