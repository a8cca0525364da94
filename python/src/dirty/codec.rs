//! core's dirty protocol for Python: Python values to and from TLV, and
//! whole messages, so `rcorn.dirty` speaks gunicorn's bytes through the
//! one codec the arbiter's tests and fuzzer hold.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use rcorn_core::dirty::frame::{self, MessageType, HEADER_SIZE};
use rcorn_core::dirty::tlv::{self, Value};

/// A Python value as TLV, as gunicorn's `TLVEncoder.encode` takes it: a
/// tuple is a list, dict keys become strings; other types are refused.
fn to_value(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > tlv::MAX_DEPTH {
        return Err(PyValueError::new_err("TLV nesting too deep"));
    }
    if obj.is_none() {
        return Ok(Value::None);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(Value::Int(obj.extract()?));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::Str(s.to_str()?.to_owned()));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items: PyResult<Vec<Value>> =
            obj.try_iter()?.map(|i| to_value(&i?, depth + 1)).collect();
        return Ok(Value::List(items?));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut items = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => s.to_str()?.to_owned(),
                Err(_) => k.str()?.to_str()?.to_owned(),
            };
            items.push((key, to_value(&v, depth + 1)?));
        }
        return Ok(Value::Dict(items));
    }
    let name = obj.get_type().name()?;
    Err(PyValueError::new_err(format!(
        "Unsupported type for TLV encoding: {name}"
    )))
}

fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::None => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(x) => PyFloat::new(py, *x).into_any(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::Str(s) => PyString::new(py, s).into_any(),
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Dict(items) => {
            let dict = PyDict::new(py);
            for (k, v) in items {
                dict.set_item(k, to_python(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// `encode_message(msg_type, request_id, payload)`: one whole message;
/// `payload` None for the types that carry none (end, status).
#[pyfunction]
pub fn encode_message<'py>(
    py: Python<'py>,
    msg_type: u8,
    request_id: u64,
    payload: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let kind = MessageType::from_byte(msg_type)
        .ok_or_else(|| PyValueError::new_err(format!("Unknown message type: 0x{msg_type:02x}")))?;
    let value = payload.map(|p| to_value(p, 0)).transpose()?;
    let mut out = Vec::new();
    frame::encode_message(kind, request_id, value.as_ref(), &mut out)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(PyBytes::new(py, &out))
}

/// `decode_header(bytes16) -> (msg_type, request_id, length)`.
#[pyfunction]
pub fn decode_header(header: &[u8]) -> PyResult<(u8, u64, usize)> {
    let head: &[u8; HEADER_SIZE] = header.first_chunk().ok_or_else(|| {
        PyValueError::new_err(format!("Header too short: {} bytes", header.len()))
    })?;
    let h = frame::decode_header(head).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((h.kind as u8, h.request_id, h.length))
}

/// `decode_payload(bytes)`: the TLV value, `{}` for an empty payload.
#[pyfunction]
pub fn decode_payload<'py>(py: Python<'py>, payload: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    if payload.is_empty() {
        return Ok(PyDict::new(py).into_any());
    }
    let value = tlv::decode_full(payload).map_err(|e| PyValueError::new_err(e.to_string()))?;
    to_python(py, &value)
}
