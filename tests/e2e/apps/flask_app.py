"""A small Flask application served through rcorn in the tests."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello from Flask"


@app.post("/form")
def form():
    return f"name={request.form['name']} age={int(request.form['age'])}"


@app.get("/api/items/<int:item_id>")
def item(item_id):
    return jsonify(id=item_id, q=request.args.get("q"), agent=request.headers.get("User-Agent"))


@app.post("/upload")
def upload():
    f = request.files["file"]
    data = f.read()
    return jsonify(filename=f.filename, size=len(data), head=data[:10].decode("latin-1"))


@app.get("/error")
def error():
    raise ValueError("flask view failed")


@app.get("/api/thread/<token>")
def thread_echo(token):
    """Echoes what is particular to this request, with the serving thread,
    so a test can tell answers crossed between threads apart."""
    import threading
    import time

    time.sleep(0.002)  # let the other threads interleave
    return jsonify(token=token, q=request.args.get("q"), agent=request.headers.get("User-Agent"),
                   thread=threading.get_ident())
