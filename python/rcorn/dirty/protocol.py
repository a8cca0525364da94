"""gunicorn's dirty protocol over sockets, with rcorn's codec (core's
``dirty::frame`` and ``dirty::tlv``): the same bytes as
``gunicorn.dirty.protocol``.
"""

import asyncio

from rcorn._rcorn import decode_header, decode_payload, encode_message

from .errors import DirtyError, DirtyProtocolError

HEADER_SIZE = 16

MSG_TYPE_REQUEST = 0x01
MSG_TYPE_RESPONSE = 0x02
MSG_TYPE_ERROR = 0x03
MSG_TYPE_CHUNK = 0x04
MSG_TYPE_END = 0x05
MSG_TYPE_STASH = 0x10
MSG_TYPE_STATUS = 0x11
MSG_TYPE_MANAGE = 0x12

#: The message types by gunicorn's names, as read messages carry them.
NAMES = {
    MSG_TYPE_REQUEST: "request",
    MSG_TYPE_RESPONSE: "response",
    MSG_TYPE_ERROR: "error",
    MSG_TYPE_CHUNK: "chunk",
    MSG_TYPE_END: "end",
    MSG_TYPE_STASH: "stash",
    MSG_TYPE_STATUS: "status",
    MSG_TYPE_MANAGE: "manage",
}

MANAGE_OP_ADD = 1
MANAGE_OP_REMOVE = 2


def encode(msg_type, request_id, payload=None):
    try:
        return encode_message(msg_type, request_id, payload)
    except ValueError as e:
        raise DirtyProtocolError(str(e)) from None


def encode_request(request_id, app_path, action, args=(), kwargs=None):
    payload = {"app_path": app_path, "action": action, "args": list(args), "kwargs": kwargs or {}}
    return encode(MSG_TYPE_REQUEST, request_id, payload)


def encode_error(request_id, error):
    if isinstance(error, DirtyError):
        error = error.to_dict()
    return encode(MSG_TYPE_ERROR, request_id, {"error": error})


def parse(header, payload):
    """``(msg_type, request_id, payload dict)`` of one whole message."""
    try:
        msg_type, request_id, _ = decode_header(header)
        return msg_type, request_id, decode_payload(payload)
    except ValueError as e:
        raise DirtyProtocolError(str(e), raw_data=header) from None


def _header(header):
    try:
        return decode_header(header)
    except ValueError as e:
        raise DirtyProtocolError(str(e), raw_data=header) from None


def _recv_exactly(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            if not data:
                raise DirtyProtocolError("Connection closed")
            raise DirtyProtocolError(
                f"Connection closed after {len(data)} bytes, expected {n}", raw_data=bytes(data)
            )
        data += chunk
    return bytes(data)


def read_message(sock):
    """One message from a blocking socket, as gunicorn's dict."""
    header = _recv_exactly(sock, HEADER_SIZE)
    _, _, length = _header(header)
    payload = _recv_exactly(sock, length) if length else b""
    return as_dict(*parse(header, payload))


async def read_frame(reader):
    """``(msg_type, request_id, header + payload bytes)`` from a stream;
    ``asyncio.IncompleteReadError`` at a clean end."""
    header = await reader.readexactly(HEADER_SIZE)
    msg_type, request_id, length = _header(header)
    payload = await reader.readexactly(length) if length else b""
    return msg_type, request_id, header + payload


async def read_message_async(reader):
    msg_type, request_id, frame = await read_frame(reader)
    return as_dict(*parse(frame[:HEADER_SIZE], frame[HEADER_SIZE:]))


def as_dict(msg_type, request_id, payload):
    message = {"type": NAMES[msg_type], "id": request_id}
    if isinstance(payload, dict):
        message.update(payload)
    return message


def with_request_id(frame, request_id):
    """The same message under another request id (bytes 8-16)."""
    return frame[:8] + request_id.to_bytes(8, "big") + frame[HEADER_SIZE:]
