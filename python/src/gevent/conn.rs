//! One client connection of the gevent worker, handed to Python by the
//! driver: its greenlet calls `serve`, which runs the whole connection
//! (io's `connection_task`) and returns once it is closed.

use std::rc::Rc;

use pyo3::prelude::*;
use rcorn_core::worker::WorkerEvent;
use rcorn_io::connection_task::serve_connection;
use rcorn_io::exchange::Connection;

use super::shared::Shared;

#[pyclass(unsendable, module = "rcorn")]
pub struct GreenConn {
    conn: Option<Box<Connection>>,
    shared: Rc<Shared>,
}

impl GreenConn {
    /// The lifecycle has counted it open.
    pub fn new(conn: Box<Connection>, shared: Rc<Shared>) -> GreenConn {
        GreenConn {
            conn: Some(conn),
            shared,
        }
    }

    fn close(&mut self) {
        if self.conn.take().is_some() {
            self.shared.lifecycle_event(WorkerEvent::ConnectionClosed);
        }
    }
}

#[pymethods]
impl GreenConn {
    /// Serves the connection until it closes; waits on the hub.
    fn serve(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            serve_connection(&*self.shared, &self.shared.cfg, conn);
        }
        self.close();
    }
}

impl Drop for GreenConn {
    /// A connection never served (its greenlet was not started) still
    /// closes in the lifecycle's count.
    fn drop(&mut self) {
        self.close();
    }
}
