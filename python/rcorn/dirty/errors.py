"""The dirty arbiter's exceptions: gunicorn's classes, names and fields.

An error crosses the socket as ``{"error_type", "message", "details"}``;
``DirtyError.from_dict`` turns it back into the class it names, so a
client catches the same exception whichever server sent it.
"""


class DirtyError(Exception):
    """Base exception for all dirty arbiter errors."""

    def __init__(self, message, details=None):
        self.message = message
        self.details = details or {}
        super().__init__(message)

    def __str__(self):
        if self.details:
            return f"{self.message}: {self.details}"
        return self.message

    def to_dict(self):
        return {
            "error_type": self.__class__.__name__,
            "message": self.message,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data):
        error_class = _CLASSES.get(data.get("error_type", "DirtyError"), DirtyError)
        error = Exception.__new__(error_class)
        error.message = data.get("message", "Unknown error")
        error.details = data.get("details") or {}
        Exception.__init__(error, error.message)
        details = error.details
        if error_class is DirtyTimeoutError:
            error.timeout = details.get("timeout")
        elif error_class is DirtyConnectionError:
            error.socket_path = details.get("socket_path")
        elif error_class is DirtyWorkerError:
            error.worker_id = details.get("worker_id")
            error.traceback = details.get("traceback")
        elif error_class in (DirtyAppError, DirtyAppNotFoundError):
            error.app_path = details.get("app_path")
            error.action = details.get("action")
            error.traceback = details.get("traceback")
        elif error_class is DirtyNoWorkersAvailableError:
            error.app_path = details.get("app_path")
        return error


class DirtyTimeoutError(DirtyError):
    """Raised when a dirty operation times out."""

    def __init__(self, message="Operation timed out", timeout=None):
        super().__init__(message, {"timeout": timeout} if timeout else {})
        self.timeout = timeout


class DirtyConnectionError(DirtyError):
    """Raised when connection to dirty arbiter fails."""

    def __init__(self, message="Connection failed", socket_path=None):
        super().__init__(message, {"socket_path": socket_path} if socket_path else {})
        self.socket_path = socket_path


class DirtyWorkerError(DirtyError):
    """Raised when a dirty worker encounters an error."""

    def __init__(self, message, worker_id=None, traceback=None):
        details = {}
        if worker_id is not None:
            details["worker_id"] = worker_id
        if traceback:
            details["traceback"] = traceback
        super().__init__(message, details)
        self.worker_id = worker_id
        self.traceback = traceback


class DirtyAppError(DirtyError):
    """Raised when a dirty app encounters an error during execution."""

    def __init__(self, message, app_path=None, action=None, traceback=None):
        details = {}
        if app_path:
            details["app_path"] = app_path
        if action:
            details["action"] = action
        if traceback:
            details["traceback"] = traceback
        super().__init__(message, details)
        self.app_path = app_path
        self.action = action
        self.traceback = traceback


class DirtyAppNotFoundError(DirtyAppError):
    """Raised when a dirty app is not found."""

    def __init__(self, app_path):
        super().__init__(f"Dirty app not found: {app_path}", app_path=app_path)


class DirtyNoWorkersAvailableError(DirtyError):
    """Raised when no worker loads the app a call names."""

    def __init__(self, app_path, message=None):
        if message is None:
            message = f"No workers available for app: {app_path}"
        super().__init__(message, details={"app_path": app_path})
        self.app_path = app_path


class DirtyProtocolError(DirtyError):
    """Raised when there is a protocol-level error."""

    def __init__(self, message="Protocol error", raw_data=None):
        details = {}
        if raw_data is not None:
            if isinstance(raw_data, bytes):
                raw_data = raw_data[:100].hex()
            details["raw_data"] = str(raw_data)[:200]
        super().__init__(message, details)


_CLASSES = {
    c.__name__: c
    for c in (
        DirtyError,
        DirtyTimeoutError,
        DirtyConnectionError,
        DirtyWorkerError,
        DirtyAppError,
        DirtyAppNotFoundError,
        DirtyNoWorkersAvailableError,
        DirtyProtocolError,
    )
}
