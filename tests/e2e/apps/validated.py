"""The test apps wrapped in wsgiref's PEP 3333 validator: any breach of the
spec by the server raises inside the app and shows as a 500."""

from wsgiref.validate import validator

import basic

app = validator(basic.app)
