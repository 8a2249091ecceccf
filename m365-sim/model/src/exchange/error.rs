//! Exchange's error answer: the status, the .NET exception the cmdlet raised, and the JSON
//! envelope the REST endpoint wraps it in.

use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Value, json};

/// An Exchange error: `{"error":{"code","message","details":[{"code","message","target"}],"innererror":{...}}}`.
#[derive(Debug, Clone)]
pub struct ExoError {
    /// HTTP status.
    pub status: u16,
    /// .NET exception type the cmdlet raised.
    pub exception: &'static str,
    /// Message.
    pub message: String,
    /// Parameter the error is about, if any.
    pub target: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
}

impl ExoError {
    /// New error.
    pub fn new(status: u16, exception: &'static str, message: String) -> Self {
        Self {
            status,
            exception,
            message,
            target: String::new(),
            headers: Vec::new(),
        }
    }

    /// Sets `details[].target`.
    pub fn target(mut self, t: &str) -> Self {
        self.target = t.to_owned();
        self
    }

    fn code(&self) -> &'static str {
        match self.status {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            _ => "InternalServerError",
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut h = DefaultHasher::new();
        self.exception.hash(&mut h);
        let tag = format!("Ex{:06X}", h.finish() & 0xFF_FFFF);
        json!({
            "error": {
                "code": self.code(),
                "message": self.message,
                "details": [{
                    "code": "Context",
                    "message": format!("{tag}|{}|{}", self.exception, self.message),
                    "target": self.target,
                }],
                "innererror": {
                    "message": self.message,
                    "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                    "internalException": {"message": self.message, "type": self.exception},
                },
            }
        })
    }
}
