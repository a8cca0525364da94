"""A small Flask app: one route with a short JSON answer, to weigh a framework's own cost."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return {"message": "Hello, World!"}
